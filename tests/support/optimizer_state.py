"""A two-layer model and an AdamW whose state is not empty, for checkpoint round trips."""
import torch


def small_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))


def trained_optimizer(model, steps=2):
    """AdamW after ``steps`` real steps, so its state (exp_avg, exp_avg_sq, step) is not empty."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        model(torch.ones(2, 3)).pow(2).sum().backward()
        opt.step()
    return opt


def optimizer_tensors(opt):
    """Every tensor of the optimizer state, keyed by (parameter index, name), plus the hyperparameters."""
    state = opt.state_dict()
    tensors = {(i, k): v for i, s in state["state"].items() for k, v in s.items()}
    return tensors, [{k: v for k, v in g.items() if k != "params"} for g in state["param_groups"]]
