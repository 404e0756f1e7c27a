"""What only the diffusion model does: classifier-free guidance in training and sampling,
premultiplied alpha, one batched U-Net call per step, the learning-rate schedule."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from emoji_t2i.data.images import premultiply, unpremultiply
from emoji_t2i.networks.lr_schedules import WarmupCosine, warmup_cosine
from emoji_t2i.schedulers import DenoisingLoss
from tests.harness import tiny_batch, tiny_model, wake_zero_initialised


def test_premultiplied_round_trip_on_real_emoji(tiny):
    images = tiny.images[:8].astype(np.float32) / 127.5 - 1.0
    x = np.asarray(premultiply(images))
    transparent = tiny.images[:8, ..., 3] == 0
    assert np.all(x[transparent] == -1.0)  # no colour hides under alpha 0
    back = np.asarray(unpremultiply(x))
    visible = tiny.images[:8, ..., 3] > 32
    np.testing.assert_allclose(back[visible], images[visible], atol=2 / 255)
    np.testing.assert_allclose(back[..., 3], images[..., 3], atol=1e-6)


def test_condition_dropout_really_drops():
    """With every caption dropped the tokens cannot change the loss; with none they do."""
    model = tiny_model("diffusion")
    wake_zero_initialised(model)
    batch = tiny_batch(model)
    swapped = {**batch, "tokens": batch["wrong_tokens"]}
    for dropout, differs in ((1.0, False), (0.0, True)):
        model.loss_fn = DenoisingLoss(model.schedule, dropout)
        a = np.asarray(model.denoising_loss(batch, training=False))
        b = np.asarray(model.denoising_loss(swapped, training=False))
        assert (np.abs(a - b).max() > 1e-4) == differs, (dropout, np.abs(a - b).max())


def test_pipeline_draws_drop_the_configured_share(tiny, tiny_vectorizer):
    from emoji_t2i.data.pipeline import make_dataset

    model = tiny_model("diffusion", condition_dropout=0.15)
    batch = next(iter(make_dataset(tiny, tiny_vectorizer, 64, draws=model.random_draws())))
    dropped = float(np.mean(batch["keep"].numpy() < model.condition_dropout))
    assert 0.03 < dropped < 0.35  # 64 draws of Bernoulli(0.15)
    assert batch["image_noise"].shape == (64, 72, 72, 4) and batch["time"].shape == (64,)


@pytest.mark.parametrize("sampler", ["dpm_solver", "ddim"])
def test_one_batched_unet_call_per_step_and_seeded_noise(sampler):
    model = tiny_model("diffusion")
    calls = []
    network = model._denoiser_graph()

    def counting(inputs):
        calls.append(int(inputs[0].shape[0]))
        return network(inputs)

    model.__dict__["_denoiser_fn"] = counting
    batch = tiny_batch(model, 3)
    noise = tf.random.stateless_normal([3, 72, 72, 4], seed=[4, 0])
    a = model.sample(batch["tokens"], noise, num_steps=5, guidance_scale=2.0, sampler=sampler)
    assert calls == [6] * 5  # conditional + unconditional halves in one call, 5 steps
    b = model.sample(batch["tokens"], noise, num_steps=5, guidance_scale=2.0, sampler=sampler)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 72, 72, 4) and np.asarray(a).min() >= -1 and np.asarray(a).max() <= 1


def test_interval_guidance_skips_the_null_caption_outside_its_noise_levels():
    """Four steps at t = 1, .75, .5, .25 have EDM sigmas ~1800, 2.4, 1.0, 0.41: (0.28, 5.42]
    guides the last three, so the first call has only the conditional half."""
    model = tiny_model("diffusion")
    wake_zero_initialised(model)
    calls, network = [], model._denoiser_graph()
    model.__dict__["_denoiser_fn"] = lambda inputs: calls.append(int(inputs[0].shape[0])) or network(inputs)
    batch = tiny_batch(model, 2)
    noise = tf.random.stateless_normal([2, 72, 72, 4], seed=[2, 0])
    sample = lambda **kw: np.asarray(model.sample(batch["tokens"], noise, num_steps=4, guidance_scale=3.0, **kw))  # noqa: E731
    interval = sample(guidance_interval=(0.28, 5.42))
    assert calls == [2, 4, 4, 4]
    assert network.tracing_count() == 1  # one graph for both batch sizes: no retrace mid-sampling
    in_graph = tf.function(lambda t, x: model.sample(t, x, num_steps=4, guidance_scale=3.0,
                                                     guidance_interval=(0.28, 5.42)))  # tf.cond, as exported
    plain_gap = np.abs(interval - sample()).max()
    calls.clear()
    # inside a graph (as exported) the same steps are guided: rounding apart, nearer the eager result
    assert np.abs(np.asarray(in_graph(batch["tokens"], noise)) - interval).max() < 0.1 * plain_gap
    calls.clear()
    np.testing.assert_array_equal(sample(guidance_interval=(0.0, 1e9)), sample())
    assert calls == [4] * 8
    unguided = np.asarray(model.sample(batch["tokens"], noise, num_steps=4, guidance_scale=1.0))
    np.testing.assert_allclose(sample(guidance_interval=(1e8, 1e9)), unguided, atol=5e-4)
    assert np.abs(interval - sample()).max() > 1e-3 and np.abs(interval - unguided).max() > 1e-3


def test_condition_annealing_noises_the_caption_early_per_emoji_and_leaves_the_null_one():
    """Four steps at t = 1, .75, .5, .25 under (0.3, 0.8, 0.5): strengths 0, 0.1, 0.6, 1. The
    conditional rows the U-Net reads are noise alone first and the clean caption last; the null
    rows never change; an emoji's noise comes from its own starting noise, so it samples alike
    alone or in a batch."""
    model = tiny_model("diffusion")
    wake_zero_initialised(model)
    seen, network = [], model._denoiser_graph()
    model.__dict__["_denoiser_fn"] = lambda inputs: seen.append(np.asarray(inputs[2])) or network(inputs)
    batch = tiny_batch(model, 2)
    noise = tf.random.stateless_normal([2, 72, 72, 4], seed=[5, 0])
    clean = np.asarray(model.encode(batch["tokens"]))
    annealed = np.asarray(model.sample(batch["tokens"], noise, num_steps=4, guidance_scale=3.0,
                                       condition_annealing=(0.3, 0.8, 0.5)))
    assert len(seen) == 4 and all(rows.shape == (4, clean.shape[1]) for rows in seen)
    for rows in seen:
        np.testing.assert_array_equal(rows[2:], clean)  # the null caption's rows (keep = 0)
    np.testing.assert_array_equal(seen[3][:2], clean)
    draw = np.asarray(noise).reshape(2, -1)[:, :clean.shape[1]]
    rms = np.sqrt(np.mean(clean**2, axis=-1, keepdims=True))
    np.testing.assert_allclose(seen[0][:2], 0.5 * rms * draw, rtol=1e-5, atol=1e-7)
    assert np.abs(annealed - np.asarray(model.sample(batch["tokens"], noise, num_steps=4,
                                                     guidance_scale=3.0))).max() > 1e-3
    alone = model.sample(batch["tokens"][1:], noise[1:], num_steps=4, guidance_scale=3.0,
                         condition_annealing=(0.3, 0.8, 0.5))
    # a batch of one rounds otherwise than a batch of two (up to 6e-5 seen after four guided steps);
    # the caption noise of the other emoji changes the image by 2 (measured)
    np.testing.assert_allclose(np.asarray(alone)[0], annealed[1], atol=1e-3)
    in_graph = tf.function(lambda tokens, x: model.sample(tokens, x, num_steps=4, guidance_scale=3.0,
                                                          condition_annealing=(0.3, 0.8, 0.5)))  # as exported
    np.testing.assert_allclose(np.asarray(in_graph(batch["tokens"], noise)), annealed, atol=1e-4)
    # a model's default applies unless the call turns it off
    model.condition_annealing = (0.3, 0.8, 0.5)
    np.testing.assert_array_equal(model.sample(batch["tokens"], noise, num_steps=4, guidance_scale=3.0), annealed)
    plain = model.sample(batch["tokens"], noise, num_steps=4, guidance_scale=3.0, condition_annealing="off")
    assert np.abs(np.asarray(plain) - annealed).max() > 1e-3


def test_guidance_scale_one_ignores_the_unconditional_branch():
    """guidance 1 is the conditional model alone: the null caption cannot matter."""
    model = tiny_model("diffusion")
    wake_zero_initialised(model)
    batch = tiny_batch(model, 2)
    noise = tf.random.stateless_normal([2, 72, 72, 4], seed=[1, 0])
    before = np.asarray(model.sample(batch["tokens"], noise, num_steps=2, guidance_scale=1.0))
    model.ema_denoiser.null_text.assign(model.ema_denoiser.null_text + 5.0)
    after = np.asarray(model.sample(batch["tokens"], noise, num_steps=2, guidance_scale=1.0))
    np.testing.assert_allclose(before, after, atol=5e-4)  # v_u - v_u: float rounding only
    guided = np.asarray(model.sample(batch["tokens"], noise, num_steps=2, guidance_scale=3.0))
    assert np.abs(guided - after).max() > 0.05


def test_warmup_then_cosine_to_the_floor():
    schedule = WarmupCosine(1e-3, warmup_steps=10, decay_steps=110, floor=0.1)
    lr = [float(schedule(s)) for s in (0, 9, 10, 60, 110, 500)]
    assert lr[0] == pytest.approx(1e-4) and lr[1] == pytest.approx(1e-3)
    assert lr[2] == pytest.approx(1e-3) and lr[3] == pytest.approx(0.55e-3, rel=1e-4)
    assert lr[4] == pytest.approx(1e-4) and lr[5] == pytest.approx(1e-4)
    assert float(WarmupCosine(1e-3, 10, 0)(1000)) == pytest.approx(1e-3)  # constant after warm-up


def test_adamw_reads_the_schedule_through_one_graph_at_each_steps_own_rate():
    """AdamW asks for the rate once per weight it decays; under TensorFlow the schedule's ops
    enter a traced step once, not once per weight, and two updates in one graph each decay
    by their own step's rate (zero gradients: Adam moves nothing, decay alone acts)."""
    schedule = WarmupCosine(0.1, warmup_steps=4, decay_steps=8, floor=0.1)
    weights = [keras.Variable(np.full((3,), 1.0 + k, "float32")) for k in range(12)]
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=0.5)
    optimizer.build(weights)

    @tf.function
    def two_steps():
        for _ in range(2):
            optimizer.apply_gradients([(tf.zeros_like(w), w) for w in weights])

    two_steps()
    graph = two_steps.get_concrete_function().graph.as_graph_def()
    nodes = list(graph.node) + [node for function in graph.library.function for node in function.node_def]
    assert sum(node.op == "Cos" for node in nodes) == 1
    rates = [float(warmup_cosine(step, 0.1, 4, 8)) for step in (0, 1)]
    assert rates[0] != pytest.approx(rates[1])
    for k, w in enumerate(weights):
        expected = (1.0 + k) * (1 - 0.5 * rates[0]) * (1 - 0.5 * rates[1])
        np.testing.assert_allclose(w.numpy(), expected, rtol=1e-6)


def test_the_schedules_length_may_be_a_tensor():
    """The JAX trainer feeds the run's length into its jitted step (a length fitted to a time
    budget): as a tensor it gives the schedule's own rates, 0 included."""
    for length in (110, 0, 5):
        schedule = WarmupCosine(1e-3, warmup_steps=10, decay_steps=length)
        for step in (0, 9, 10, 60, 109, 500):
            traced = warmup_cosine(tf.constant(step), 1e-3, 10, tf.constant(float(length)))
            assert float(traced) == pytest.approx(float(schedule(step)), rel=1e-5)
    assert float(warmup_cosine(60, 1e-3, 10, tf.constant(210.0))) > float(warmup_cosine(60, 1e-3, 10, 110))
    assert float(warmup_cosine(60, 1e-3, 10, tf.constant(np.inf))) == pytest.approx(1e-3)  # not yet planned: the peak


def test_text_noise_draws_per_example_and_touches_training_only():
    """text_noise asks the pipeline for one standard normal per text feature, moves the
    training loss, and leaves the loss outside training (and the default model) as it was."""
    noisy = tiny_model("diffusion", text_noise=0.5)
    assert noisy.random_draws()["text_noise"] == ("normal", (16,))  # the harness's text_dim
    assert "text_noise" not in tiny_model("diffusion").random_draws()
    wake_zero_initialised(noisy)
    batch = tiny_batch(noisy)
    quiet = DenoisingLoss(noisy.schedule, noisy.condition_dropout)
    trained = np.asarray(noisy.denoising_loss(batch, training=True))
    evaluated = np.asarray(noisy.denoising_loss(batch, training=False))
    noisy.loss_fn = quiet
    np.testing.assert_allclose(evaluated, np.asarray(noisy.denoising_loss(batch, training=False)), rtol=1e-6)
    assert np.abs(trained - evaluated).max() > 1e-4
    assert noisy.get_config()["text_noise"] == 0.5


# --- the packed condition: sentence, style and words (cross-attention) -----------------------
def test_packed_condition_round_trips_and_noise_keeps_its_mask():
    from emoji_t2i.networks.condition import ANY_STYLE, pack_condition, unpack_condition

    rng = np.random.default_rng(0)
    pooled, sequence = rng.normal(size=(3, 8)), rng.normal(size=(3, 5, 8))
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    packed = np.asarray(pack_condition(pooled, sequence, mask, np.array([2, ANY_STYLE, 0])))
    assert packed.shape == (3, 7, 8)
    sentence, style, tokens, found = (np.asarray(a) for a in unpack_condition(packed, styles=3))
    np.testing.assert_allclose(sentence, pooled, rtol=1e-6)
    np.testing.assert_array_equal(style, [[0, 0, 1], [0, 0, 0], [1, 0, 0]])  # any = no style
    np.testing.assert_array_equal(found, mask)
    np.testing.assert_allclose(tokens[mask], sequence[mask], rtol=1e-6)
    noisy = np.asarray(DenoisingLoss(text_noise=0.5).noisy_text(packed, rng.normal(size=packed.shape)))
    np.testing.assert_array_equal(np.asarray(unpack_condition(noisy, 3)[3]), mask)  # padding stays padding
    assert np.abs(noisy - packed)[:, 2:][mask].min() > 0


def test_cross_attention_unet_reads_words_and_style_and_drops_both_with_the_caption():
    from emoji_t2i.networks.condition import pack_condition
    from emoji_t2i.networks.unet import TextConditionedUNet

    net = TextConditionedUNet(16, widths=(8, 16, 16), blocks=1, embedding_dim=16, cross_attention=True,
                              styles=3, context_dim=8)
    net.build(None)
    rng = np.random.default_rng(1)
    for w in net.weights:  # wake every zero-initialised projection
        w.assign(rng.normal(0, 0.2, w.shape).astype("float32"))
    x, t = rng.normal(size=(2, 72, 72, 4)).astype("float32"), np.zeros(2, "float32")

    def condition(seed, style, real=4):
        r = np.random.default_rng(seed)
        mask = np.arange(6)[None] < real
        return pack_condition(r.normal(size=(2, 16)), r.normal(size=(2, 6, 16)), np.repeat(mask, 2, 0), np.array(style))

    def v(c, keep):
        return np.asarray(net((x, t, c, np.full(2, keep, "float32"))))

    base = v(condition(1, [0, 1]), 1)
    assert np.abs(v(condition(1, [2, -1]), 1) - base).max() > 1e-3  # the style acts
    words = np.array(condition(1, [0, 1]))
    words[:, 2 + 1] = rng.normal(size=(2, 16))  # one word changes, the sentence does not
    assert np.abs(v(words, 1) - base).max() > 1e-3  # the words act through cross-attention
    # dropped caption: neither sentence, words nor style reach the output
    np.testing.assert_allclose(v(condition(1, [0, 1]), 0), v(condition(2, [2, -1], real=2), 0), atol=1e-5)
    assert {"cross_attention": True, "styles": 3, "context_dim": 8}.items() <= net.get_config().items()


def test_a_grown_unet_computes_what_its_source_did_and_then_reads_words_and_style():
    """Growing a sentence-only U-Net (``diffusion-emoji72``'s kind) into one with cross-attention
    and styles keeps its function exactly, for every style, until the new layers train."""
    from emoji_t2i.networks.condition import pack_condition
    from emoji_t2i.networks.unet import TextConditionedUNet, grow_unet

    source = TextConditionedUNet(16, widths=(8, 16, 16), blocks=1, embedding_dim=16, context_dim=8)
    source.build(None)
    rng = np.random.default_rng(3)
    for w in source.weights:  # a trained network: nothing at zero
        w.assign(rng.normal(0, 0.2, w.shape).astype("float32"))
    grown = grow_unet(source, cross_attention=True, styles=3, augment_dim=2)
    assert grown.name == source.name and len(grown.weights) > len(source.weights)
    x, t = rng.normal(size=(2, 72, 72, 4)).astype("float32"), np.array([0.0, 3.0], "float32")
    sentence, keep = rng.normal(size=(2, 16)).astype("float32"), np.ones(2, "float32")
    words = rng.normal(size=(2, 6, 16))
    expected = np.asarray(source((x, t, sentence, keep)))
    for style in ([0, 2], [-1, 1]):
        condition = pack_condition(sentence, words, np.arange(6)[None].repeat(2, 0) < 4, np.array(style))
        got = np.asarray(grown((x, t, condition, keep), augment_labels=np.ones((2, 2), "float32")))
        np.testing.assert_allclose(got, expected, atol=1e-5)
    for w in grown.weights:  # once the new layers have trained, words and style act
        if w.path.endswith(("out/kernel", "style_dense/kernel")):
            w.assign(rng.normal(0, 0.2, w.shape).astype("float32"))
    a = pack_condition(sentence, words, np.ones((2, 6), bool), np.array([0, 0]))
    b = pack_condition(sentence, words[:, ::-1], np.ones((2, 6), bool), np.array([1, 1]))
    assert np.abs(np.asarray(grown((x, t, a, keep))) - np.asarray(grown((x, t, b, keep)))).max() > 1e-3
    with pytest.raises(ValueError, match="changes only cross_attention, styles, augment_dim, not widths"):
        grow_unet(source, widths=(8, 16, 32))
    with pytest.raises(ValueError, match="styles would shrink"):
        grow_unet(grown, styles=2)


def test_dropout_acts_in_training_only_and_adds_no_weights():
    """Dropout in the residual blocks: the same weights as without it (a preset trained with it
    loads into a U-Net without and back), the same function at inference, a fresh mask in each
    training call, and a one-line error for a rate that is not one."""
    from emoji_t2i.errors import UsageError
    from emoji_t2i.networks.unet import TextConditionedUNet

    kinds = dict(text_dim=6, widths=(8, 16), blocks=1, embedding_dim=16)
    plain, dropped = TextConditionedUNet(**kinds), TextConditionedUNet(**kinds, dropout=0.3)
    for net in (plain, dropped):
        net.build(None)
    from emoji_t2i.networks.weights import weight_names

    assert weight_names(dropped) == weight_names(plain)
    assert [w.shape for w in dropped.weights] == [w.shape for w in plain.weights]
    rng = np.random.default_rng(4)
    for a, b in zip(plain.weights, dropped.weights, strict=True):
        value = rng.normal(0, 0.2, a.shape).astype("float32")  # the last convs too: dropout sits before them
        a.assign(value)
        b.assign(value)
    inputs = (rng.normal(size=(2, 72, 72, 4)).astype("float32"), np.array([0.0, 2.0], "float32"),
              rng.normal(size=(2, 6)).astype("float32"), np.ones(2, "float32"))
    expected = np.asarray(plain(inputs, training=True))
    np.testing.assert_array_equal(np.asarray(dropped(inputs)), expected)
    first, second = np.asarray(dropped(inputs, training=True)), np.asarray(dropped(inputs, training=True))
    assert np.abs(first - expected).mean() > 1e-3 and np.abs(first - second).mean() > 1e-3
    assert TextConditionedUNet.from_config(dropped.get_config()).dropout == 0.3
    with pytest.raises(ValueError, match="dropout 1.0: give a rate from 0 up to"):
        TextConditionedUNet(**kinds, dropout=1.0)
    with pytest.raises(UsageError, match=r"--set dropout=-0.1: give a rate from 0 up to \(not including\) 1"):
        tiny_model("diffusion", compile=False, dropout=-0.1)


def test_init_from_a_sentence_only_model_grows_it_and_samples_as_it_did():
    """``--init-from diffusion-emoji72`` with ``--set cross_attention=true --set styles=...``:
    the warm start grows the preset's U-Net into this model's, which samples as the preset
    did, in any style, until it trains; a change that is not growth stays an error."""
    source = tiny_model("diffusion", compile=False, text_encoder="minilm")
    source.build_for_sampling(16)
    rng = np.random.default_rng(2)
    for w in source.ema_denoiser.weights:
        w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
    model = tiny_model("diffusion", compile=False, text_encoder="minilm", cross_attention=True,
                       styles=("google", "twitter"))
    model.build_for_sampling(16)
    model.warm_start(source)
    batch = tiny_batch(model, 2)
    noise = tf.random.stateless_normal([2, 72, 72, 4], seed=[4, 0])
    expected = np.asarray(source.sample(batch["tokens"], noise, num_steps=2))
    for style in ("any", "google"):
        np.testing.assert_allclose(np.asarray(model.sample(batch["tokens"], noise, num_steps=2, style=style)),
                                   expected, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(model.denoiser.weights[0]), np.asarray(model.ema_denoiser.weights[0]))
    from emoji_t2i.errors import UsageError

    smaller = tiny_model("diffusion", compile=False, text_encoder="minilm", cross_attention=True)
    smaller.build_for_sampling(16)
    with pytest.raises(UsageError, match="the preset's U-Net cannot start this one .*styles would shrink"):
        smaller.warm_start(model)


def test_a_cross_attention_model_trains_every_weight_and_samples_by_style():
    """The flagship's conditioning in one model (tracing a step is the cost): cross-attention,
    style, text noise, augmentation and dropout all train; styles and augmentation labels reach the
    U-Net, the labels in training only (a bias-free projection: zero labels, and sampling,
    which passes none, are the un-augmented network)."""
    from tests.harness import run_train_step_test, tiny_model

    model = tiny_model("diffusion", text_encoder="minilm", cross_attention=True,
                       styles=("google", "twitter"), style_dropout=0.3, text_noise=0.1, augment_probability=0.5,
                       dropout=0.1)
    assert not model.cached_text and model.packed
    assert model.random_draws()["text_noise"][1] == (2 + model.MAX_WORDS, 384)
    assert model.random_draws()["augment_geometry"] == ("uniform", (9,)) and model.denoiser.augment_dim == 6
    run_train_step_test("diffusion", model=model)
    wake_zero_initialised(model)
    net, batch = model.ema_denoiser, tiny_batch(model, 2)
    x = tf.random.stateless_normal([2, 72, 72, 4], seed=[5, 0])
    inputs = (x, tf.constant([0.0, 2.0]), model.encode(batch["tokens"]), tf.ones([2]))
    plain = np.asarray(net(inputs))
    np.testing.assert_array_equal(np.asarray(net(inputs, augment_labels=tf.zeros([2, 6]))), plain)
    assert np.abs(np.asarray(net(inputs, augment_labels=tf.ones([2, 6]))) - plain).max() > 1e-4
    noise = tf.random.stateless_normal([2, 72, 72, 4], seed=[1, 0])
    google = np.asarray(model.sample(batch["tokens"], noise, num_steps=2, style="google"))
    twitter = np.asarray(model.sample(batch["tokens"], noise, num_steps=2, style="twitter"))
    assert np.abs(google - twitter).max() > 1e-3
    np.testing.assert_array_equal(np.asarray(model.sample(batch["tokens"], noise, num_steps=2, style=[0, 0])), google)
    from emoji_t2i.errors import UsageError

    with pytest.raises(UsageError, match="this model knows google, twitter; use one of them or 'any'"):
        model.sample(batch["tokens"], noise, num_steps=2, style="comic")
    with pytest.raises(UsageError, match="use text_encoder=minilm"):
        tiny_model("diffusion", cross_attention=True)
    # --set styles=google,twitter arrives as one string
    assert tiny_model("diffusion", compile=False, text_encoder="minilm", styles="google, twitter").styles == (
        "google", "twitter")


def test_a_distilled_student_takes_the_guidance_scale_and_composes_in_one_call_per_step():
    """guidance_input: one U-Net call per step on the undoubled batch with the scale as a fifth
    input; several conditions mix as sum_k w_k v_k (the guided composition when the weights
    sum to 1) in that one call; the plain objective still trains it (at scale 1)."""
    model = tiny_model("diffusion", guidance_input=True)
    wake_zero_initialised(model)
    kernel = model.ema_denoiser.guidance_dense2.kernel  # zero-initialised: a new student is its teacher
    kernel.assign(np.random.default_rng(0).normal(0, 0.1, kernel.shape).astype("float32"))
    assert model.get_config()["guidance_input"] and model.ema_denoiser.guidance_input
    calls, network = [], model._denoiser_graph()

    def counting(inputs):
        calls.append((int(inputs[0].shape[0]), len(inputs), float(inputs[4][0])))
        return network(inputs)

    model.__dict__["_denoiser_fn"] = counting
    batch = tiny_batch(model, 2)
    noise = tf.random.stateless_normal([2, 72, 72, 4], seed=[3, 0])
    first = np.asarray(model.sample(batch["tokens"], noise, num_steps=3, guidance_scale=2.5, sampler="ddim"))
    assert calls == [(2, 5, 2.5)] * 3
    other = np.asarray(model.sample(batch["tokens"], noise, num_steps=3, guidance_scale=5.0, sampler="ddim"))
    assert np.abs(other - first).max() > 1e-3  # the scale is read, not ignored
    calls.clear()
    features = model.encode(batch["tokens"])
    mixed = model.sample_conditions([(features, 0.5), (features[::-1], 0.5)], noise, num_steps=2,
                                    guidance_scale=2.5, sampler="ddim")
    assert [c[0] for c in calls] == [4, 4]  # both conditions, no null caption, one call per step
    assert np.asarray(mixed).shape == (2, 72, 72, 4)
    logs = model.train_step(batch)  # the plain objective trains a student at scale 1
    assert np.isfinite(float(logs["loss"]))


def test_the_unet_denoises_latents_at_their_own_size_and_refuses_sizes_its_levels_cannot_halve():
    """image_size / channels / patch: 18 x 18 x 8 latents in and out, read without space-to-depth;
    a size that a level would halve to an odd count (and upsample back wrong) fails at once."""
    from emoji_t2i.networks.unet import TextConditionedUNet

    net = TextConditionedUNet(text_dim=6, widths=(8, 16), blocks=1, embedding_dim=16, image_size=18, channels=8,
                              patch=1)
    x = np.random.default_rng(0).normal(size=(2, 18, 18, 8)).astype("float32")
    v = net((x, np.zeros((2,), "float32"), np.ones((2, 6), "float32"), np.ones((2,), "float32")))
    assert tuple(v.shape) == (2, 18, 18, 8) and net.stem.kernel.shape[2] == 8 and net.out_conv.filters == 8
    assert TextConditionedUNet(text_dim=6, widths=(8, 16, 16), blocks=1).out_conv.filters == 16  # pixels: 4 x 2 x 2
    with pytest.raises(ValueError, match="image_size 18 with patch 1 and 3 levels"):
        TextConditionedUNet(text_dim=6, widths=(8, 16, 16), image_size=18, channels=8, patch=1)


def test_a_preset_loaded_to_sample_builds_its_trained_unet_only_to_train_and_from_the_ema(tmp_path):
    """``from_preset`` builds what sampling reads (the EMA U-Net; the trained one cost ~0.8 s
    more of a load); the same model asked to train builds the rest from the EMA, as a warm
    start does, and one step moves every weight."""
    from keras.optimizers import Adam

    from emoji_t2i.pipelines import load_preset, save_preset
    from emoji_t2i.text.tokenizers import make_tokenizer
    from tests.harness import SEQUENCE_LENGTH, run_train_step_test

    source = tiny_model("diffusion")
    wake_zero_initialised(source)
    path = save_preset(source, make_tokenizer("word", ["crying cat", "red heart"]), tmp_path / "p")
    model = load_preset(path, sampling_only=True)[0]
    assert model.ema_denoiser.built and model.ema_text_encoder.built
    assert not model.denoiser.built and not model.text_encoder.built
    batch = tiny_batch(model, 2)
    np.testing.assert_array_equal(np.asarray(model.generate(batch["tokens"], batch["noise"])),
                                  np.asarray(source.generate(batch["tokens"], batch["noise"])))
    model.compile(optimizer=Adam(1e-3))
    model.build_all(SEQUENCE_LENGTH)
    for trained, ema in model.ema_pairs():
        for a, b in zip(trained.weights, ema.weights, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    run_train_step_test("diffusion", model=model)
