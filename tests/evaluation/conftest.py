import numpy as np
import pytest


@pytest.fixture(scope="session")
def small_dataset(embedded):
    """Google's and Twitter's images of 40 training and 10 held-out identities (~250 images)."""
    rng = np.random.default_rng(3)
    two_styles = embedded.take(np.flatnonzero(np.isin(embedded.metadata["style"], ["google", "twitter"])))
    picked = []
    for split, count in (("train", 40), ("heldout", 10)):
        identities = np.unique(two_styles.identity[two_styles.split == split])
        picked += list(rng.choice(identities, count, replace=False))
    return two_styles.take(np.flatnonzero(np.isin(two_styles.identity, picked)))


@pytest.fixture(scope="session")
def small_judges(tmp_path_factory, small_dataset):
    from emoji_t2i.evaluation.train_judges import train_judges

    out = tmp_path_factory.mktemp("judges")
    # no composition caption side: 40 identities hold too few stickers (tests/evaluation/test_composition.py)
    measured = train_judges(small_dataset, out, classifier_epochs=1, matcher_epochs=1, batch_size=32,
                            composition_composites=0)
    return out, measured


@pytest.fixture(scope="session")
def eval_run(tmp_path_factory):
    """A 2-step tiny cgan on the embedded data (its vocabulary covers the prompts)."""
    from emoji_t2i.train import main

    out = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["--model", "cgan", "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8",
                 "--out", str(out), "--set", "noise_dim=8", "--set", "text_dim=16",
                 "--set", "g_channels=16,8,8,8", "--set", "d_channels=8,8,8,16"]) == 0
    return out
