"""Training StyleGAN2(-ADA) models from an image folder or dataset zip. Qt-free.

Modules, one job each:

- ``dataset``: the dataset tool (folder/zip -> NVIDIA-layout zip) and the torch ``Dataset`` that reads it;
- ``networks_d``: NVIDIA's residual discriminator (minibatch std, conditional projection), their names;
- ``augment``: ADA's differentiable augmentation pipeline and the p controller;
- ``loss``: non-saturating logistic loss with lazy R1, path-length regularisation and style mixing;
- ``metrics``: FID / KID from a user-supplied feature network;
- ``configs``: the ``--cfg`` presets (tiny, small, paper256, paper512, stylegan2);
- ``options``: ``TrainOptions``, the one schema of ``explorer train``'s options (parser, checks, argv, JSON);
- ``run_layout``: the run folder's file names, shared by the writers and the readers;
- ``run_dir``: run-directory naming, logs, stats.jsonl, image grids, one-line write errors;
- ``run_options`` / ``snapshot``: checking what a resume state says before trusting it;
- ``run_reader`` / ``launch``: reading a run from outside; starting trainers detached from a window;
- ``snapshot``: network snapshots (native ``.safetensors``) and exact-resume state files;
- ``distributed``: process launch (spawn / torchrun), gradient and statistic reduction;
- ``loop``: the training loop that ties the above together.
"""
