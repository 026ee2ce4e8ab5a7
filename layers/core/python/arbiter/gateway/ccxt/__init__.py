"""Real venues through ccxt: the gateway with its failure policy, the mapping of ccxt's answers to our models,
each venue's clientOrderId handling, and replay of recorded exchange responses."""
