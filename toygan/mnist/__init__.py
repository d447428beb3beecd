"""The MNIST world: the GAN of Goodfellow et al. 2014 on MNIST digits, trained and evaluated.

Data (``data``), model presets (``presets``), training (``experiment``, with ``monitor``:
validation Parzen), evaluation (``parzen``, ``classifier``, ``evaluate``), pretrained generators
(``hub``, weights in ``weights/``) and figures (``plots``). Built on the core (``toygan.engine``,
``toygan.models``, ...); never imports ``toygan.toy``. Nothing is imported here: ``from
toygan.mnist import presets``.
"""
