"""The Lava backend: our processes (``processes``), the graph built from the IR (``graph``)
and the streaming runner (``runner``). Nothing is imported or changed at package import;
``runner.run_lava`` prepares the runtime (``asnn_neuro.compat.lava_runtime``) when it runs."""
