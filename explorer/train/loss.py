"""StyleGAN2 losses: non-saturating logistic loss, lazy R1, path-length regularisation, style mixing.

- G minimises softplus(-D(G(z))) (the non-saturating form: strong gradients while D wins).
- D minimises softplus(D(G(z))) + softplus(-D(x)).
- R1 (gamma/2 * |grad_x D(x)|^2 on reals) keeps D smooth where the data is; it is "lazy": computed
  every ``D_reg_interval`` steps with its weight multiplied by the interval, which costs little and
  regularises the same. Its optimiser step uses lr*c and beta**c with c = interval/(interval+1) (set up
  by the loop) so the reg step's momentum matches the main steps.
- Path-length regularisation (lazy, every ``G_reg_interval``): the Jacobian norm |J_w^T y| for random
  image-space y should be constant (= its running mean); this makes W smooth, which is what makes the
  trained model pleasant to explore. ``pl_weight`` 0 turns it off (our tiny config, for speed).
- Style mixing: with probability ``style_mixing_prob`` the ws after a random cutoff come from a second
  z, so neighbouring layers do not learn to depend on each other.
- ``mapping.w_avg`` (the truncation centre) tracks the batch mean of w: the generator's mapping does
  it when asked (``update_emas=True``), which we ask only in the G main phase, as NVIDIA does.

``accumulate_gradients(phase, ...)`` runs one phase's forward and backward and reports statistics
under NVIDIA's names.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from explorer.train.stats import Stats

PHASES = ("Gmain", "Greg", "Gboth", "Dmain", "Dreg", "Dboth")


class StyleGAN2Loss:
    def __init__(
        self,
        G,
        D,
        augment_pipe=None,
        r1_gamma: float = 10.0,
        style_mixing_prob: float = 0.9,
        pl_weight: float = 2.0,
        pl_batch_shrink: int = 2,
        pl_decay: float = 0.01,
        stats: Stats | None = None,
        ada=None,
    ):
        self.G, self.D, self.augment_pipe = G, D, augment_pipe
        self.r1_gamma, self.style_mixing_prob = r1_gamma, style_mixing_prob
        self.pl_weight, self.pl_batch_shrink, self.pl_decay = pl_weight, pl_batch_shrink, pl_decay
        self.stats = stats or Stats()
        self.ada = ada
        device = next(G.parameters()).device
        self.pl_mean = torch.zeros([], device=device)

    # ---------------------------------------------------------------- network runs
    def run_G(self, z, c, update_w_avg: bool = False):
        ws = self.G.mapping(z, c, update_emas=update_w_avg)
        if self.style_mixing_prob > 0 and ws.shape[1] > 1:
            num_ws = ws.shape[1]
            cutoff = int(torch.randint(1, num_ws, []))
            if float(torch.rand([])) < self.style_mixing_prob:
                ws2 = self.G.mapping(torch.randn_like(z), c)
                ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        img = self.G.synthesis(ws, noise_mode="random")
        return img, ws

    def run_D(self, img, c):
        if self.augment_pipe is not None:
            img = self.augment_pipe(img)
        return self.D(img, c)

    # ---------------------------------------------------------------- one phase
    def accumulate_gradients(self, phase, real_img, real_c, gen_z, gen_c, gain: float) -> None:
        assert phase in PHASES
        do_Gmain = phase in ("Gmain", "Gboth")
        do_Dmain = phase in ("Dmain", "Dboth")
        do_Gpl = phase in ("Greg", "Gboth") and self.pl_weight != 0
        do_Dr1 = phase in ("Dreg", "Dboth") and self.r1_gamma != 0
        report = self.stats.report

        if do_Gmain:
            gen_img, _ = self.run_G(gen_z, gen_c, update_w_avg=True)
            gen_logits = self.run_D(gen_img, gen_c)
            report("Loss/scores/fake", gen_logits)
            report("Loss/signs/fake", gen_logits.sign())
            loss_Gmain = F.softplus(-gen_logits)
            report("Loss/G/loss", loss_Gmain)
            loss_Gmain.mean().mul(gain).backward()

        if do_Gpl:
            n = max(gen_z.shape[0] // self.pl_batch_shrink, 1)
            gen_img, gen_ws = self.run_G(gen_z[:n], gen_c[:n])
            pl_noise = torch.randn_like(gen_img) / (gen_img.shape[2] * gen_img.shape[3]) ** 0.5
            (pl_grads,) = torch.autograd.grad(
                outputs=[(gen_img * pl_noise).sum()], inputs=[gen_ws], create_graph=True, only_inputs=True
            )
            pl_lengths = pl_grads.square().sum(2).mean(1).sqrt()
            pl_mean = self.pl_mean.lerp(pl_lengths.mean().detach(), self.pl_decay)
            self.pl_mean.copy_(pl_mean)
            pl_penalty = (pl_lengths - pl_mean).square()
            report("Loss/pl_penalty", pl_penalty)
            loss_Gpl = pl_penalty * self.pl_weight
            report("Loss/G/reg", loss_Gpl)
            (gen_img[:, 0, 0, 0] * 0 + loss_Gpl).mean().mul(gain).backward()

        if do_Dmain:
            with torch.no_grad():
                gen_img, _ = self.run_G(gen_z, gen_c)
            gen_logits = self.run_D(gen_img, gen_c)
            report("Loss/scores/fake", gen_logits)
            report("Loss/signs/fake", gen_logits.sign())
            loss_Dgen = F.softplus(gen_logits)
            loss_Dgen.mean().mul(gain).backward()

        if do_Dmain or do_Dr1:
            real_tmp = real_img.detach().requires_grad_(do_Dr1)
            real_logits = self.run_D(real_tmp, real_c)
            report("Loss/scores/real", real_logits)
            report("Loss/signs/real", real_logits.sign())
            if self.ada is not None:
                self.ada.accumulate(real_logits)
            loss = torch.zeros([], device=real_img.device)
            if do_Dmain:
                loss_Dreal = F.softplus(-real_logits)
                report("Loss/D/loss", loss_Dgen + loss_Dreal)
                loss = loss + loss_Dreal
            if do_Dr1:
                (r1_grads,) = torch.autograd.grad(
                    outputs=[real_logits.sum()], inputs=[real_tmp], create_graph=True, only_inputs=True
                )
                r1_penalty = r1_grads.square().sum([1, 2, 3])
                loss_Dr1 = r1_penalty * (self.r1_gamma / 2)
                report("Loss/r1_penalty", r1_penalty)
                report("Loss/D/reg", loss_Dr1)
                loss = loss + loss_Dr1[:, None]
            (real_logits * 0 + loss).mean().mul(gain).backward()
