"""The 1D world: GANs on exact Gaussian mixtures, where every optimum can be computed.

Data (``mixture``, ``density``), exact theory (``theory``, ``optima``, ``fit``), metrics
(``metrics``, ``member_metrics``), the experiment (``experiment``: one run; ``ensemble``: many
seeds at once), studies (``compare``, ``saturation``, ``regimes``, ``live``) and their figures
(``plots*``, ``figures``). Built on the core (``toygan.engine``, ``toygan.objectives``, ...);
never imports ``toygan.mnist``. Nothing is imported here: ``from toygan.toy import theory``.
"""
