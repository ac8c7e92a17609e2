"""Model and neuron names the CLI accepts, without torch (for ``--help``)."""

MODELS = ("lenet", "resnet", "spikformer")
NEURONS = ("asnn", "lif", "cuba")
