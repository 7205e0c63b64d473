"""Engine-agnostic domain logic: contract, features, labels, shards, policy."""
