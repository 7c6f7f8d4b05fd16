"""StyleGAN Explorer: open, explore, animate and train StyleGAN models safely, on CPU or GPU.

The engine (models, formats, engine, train, video) never imports Qt; ``explorer.gui`` only drives it.
"""

import os

# OpenMP threads that spin while waiting for work turn a busy two-core laptop into a crawl (training and
# renders measured 10-50x slower beside one other busy process); passive waiting costs nothing measurable
# on an idle machine. It must be set before torch loads its OpenMP runtime, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
