"""The gradient step: ``update`` (PPO-clip epochs over an iteration's step batch), ``policy_loss`` (the loss terms as
pure tensor functions: PPO-clip, k3 KL, entropy, loss aggregation) and ``micro_batches`` (the update's rows grouped
by length within the token budget). Token log-probs come from ``gigpo.policy.scoring``, which rollouts share.
Nothing is imported here, so importing one of them pulls in only what it needs.
"""
