"""mlp_minibatch baseline: mlp_train's model (784-256-256-10, tanh) on an in-memory
60,000 x 784 data set (random, fixed seed, integer labels), trained on shuffled
minibatches of 64 (a new permutation each epoch) with AdamW (lr 1e-3, weight
decay 0.01) and gradient clipping at global norm 1.0: PyTorch's idiomatic loop,
DataLoader(TensorDataset(...), batch_size=64, shuffle=True) + clip_grad_norm_ +
torch.optim.AdamW. One step = fetch a batch, forward, backward, clip, update."""
from common import setup, tanh_mlp, time_blocks, report

args, torch = setup()
F = torch.nn.functional
params, forward = tanh_mlp(torch, [784, 256, 256, 10])
n = 60000
x = torch.randn(n, 784)
y = torch.randint(0, 10, (n,))
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64,
                                     shuffle=True, drop_last=True)
opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
batches = iter(loader)
last = [None]


def step():
    global batches
    try:
        xb, yb = next(batches)
    except StopIteration:  # end of an epoch: the next iterator reshuffles
        batches = iter(loader)
        xb, yb = next(batches)
    loss = F.cross_entropy(forward(xb), yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    last[0] = loss


samples = time_blocks(step, args.warmup, args.steps, args.repeats)
report(samples, loss=last[0].item())
