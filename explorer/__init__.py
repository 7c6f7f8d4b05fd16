"""StyleGAN Explorer: open, explore, animate and train StyleGAN models safely, on CPU or GPU.

The engine (models, formats, engine, train, video) never imports Qt; ``explorer.gui`` only drives it.
"""

__version__ = "0.1.0"
