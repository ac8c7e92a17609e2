"""NIR in and out: read a NIR graph into a float graph, lower it to the chip IR, write our networks as NIR."""
