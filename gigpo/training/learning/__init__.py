"""The gradient step: ``update`` (PPO-clip epochs over an iteration's step batch), ``policy_loss`` (the loss terms as
pure tensor functions: PPO-clip, k3 KL, entropy, loss aggregation), ``micro_batches`` (the update's rows grouped by
length within the token budget) and ``scoring`` (token log-probs of continuations, packed within that budget; the
rollouts' choice mode and the warm start score with it too, through ``rollouts.policy_backends``). They sit together
because they are where the weights change: everything between a step batch with its advantages and an optimizer
step. Nothing is imported here, so importing one of them pulls in only what it needs.
"""
