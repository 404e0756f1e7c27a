"""StyleGAN2-ADA's objective in ``keras.ops``, apart from any training loop.

The TensorFlow ``StyleGAN.train_step`` and the JAX step (``training/jax_stylegan.py``) both call
these, so the two backends train the same game; only taking gradients is theirs (R1 needs
the gradient of D's scores with respect to the images: ``tf.GradientTape`` there, ``jax.grad``
here). Every random number comes in as an argument (the draws), so a test can hand both
steps the same ones.
"""

from __future__ import annotations

from keras import ops

from emoji_t2i.networks.augment import ada_augment, adjust_probability


class StyleGANLoss:
    """Args:
        r1_gamma, r1_interval: R1 weight (gamma / 2 x |grad|^2) and its lazy interval (the
            penalty is applied every ``r1_interval`` steps, times the interval).
        mixing_prob: share of examples drawn with two ws (style mixing).
        ada, ada_target, ada_interval, ada_speed_images: the ADA controller.
    """

    def __init__(self, r1_gamma=0.05, r1_interval=16, mixing_prob=0.5, ada=True, ada_target=0.6,
                 ada_interval=4, ada_speed_images=20_000):
        self.r1_gamma, self.r1_interval, self.mixing_prob = float(r1_gamma), int(r1_interval), float(mixing_prob)
        self.ada, self.ada_target = bool(ada), float(ada_target)
        self.ada_interval, self.ada_speed_images = int(ada_interval), float(ada_speed_images)

    def mixed_ws(self, generator, z, mix_z, mix, tokens):
        """Per-layer ws (B, num_ws, w_dim): with probability ``mixing_prob`` the layers from a
        random crossover on (``mix`` (B, 2) uniform draws) take the second z's w."""
        ws = generator.broadcast(generator.mapping([z, tokens], training=True))
        if self.mixing_prob <= 0:
            return ws
        ws2 = generator.broadcast(generator.mapping([mix_z, tokens], training=True))
        n = generator.num_ws
        cutoff = ops.where(mix[:, 0] < self.mixing_prob, ops.floor(mix[:, 1] * (n - 1)) + 1.0, float(n))
        take_second = ops.arange(n, dtype="float32")[None, :] >= cutoff[:, None]
        return ops.where(take_second[..., None], ws2, ws)

    def augment(self, images, params, p):
        """ADA's augmentation with probability ``p`` (0 when ADA is off)."""
        return ada_augment(images, params, p if self.ada else ops.zeros(()))

    def r1_due(self, step):
        return ops.equal(step % self.r1_interval, 0) if self.r1_gamma > 0 else ops.convert_to_tensor(False)

    @staticmethod
    def r1_penalty(image_gradients):
        """|d sum(D(x)) / dx|^2 per example, from the backend's gradient."""
        return ops.sum(ops.square(ops.cast(image_gradients, "float32")), axis=(1, 2, 3))

    def discriminator_loss(self, s_real, s_fake, r1):
        """Per example: the non-saturating logistic loss + the lazy R1 term (``r1`` zeros off
        its steps)."""
        return ops.softplus(s_fake) + ops.softplus(-s_real) + 0.5 * self.r1_gamma * self.r1_interval * r1

    @staticmethod
    def generator_loss(s_fake):
        return ops.softplus(-s_fake)

    def adapt(self, p, sign_sum, count, signs, step):
        """ADA's controller, branch-free: (p, sign_sum, count) after this step's sign(D(real));
        every ``ada_interval`` steps p moves by the accumulated evidence and the sum restarts."""
        if not self.ada:
            return p, sign_sum, count
        sign_sum = sign_sum + ops.sum(signs)
        count = count + ops.cast(ops.shape(signs)[0], "float32")
        due = ops.equal((step + 1) % self.ada_interval, 0)
        moved = adjust_probability(p, sign_sum / ops.maximum(count, 1.0), count, self.ada_target,
                                   self.ada_speed_images)
        return ops.where(due, moved, p), ops.where(due, 0.0, sign_sum), ops.where(due, 0.0, count)

    def get_config(self) -> dict:
        return {"r1_gamma": self.r1_gamma, "r1_interval": self.r1_interval, "mixing_prob": self.mixing_prob,
                "ada": self.ada, "ada_target": self.ada_target, "ada_interval": self.ada_interval,
                "ada_speed_images": self.ada_speed_images}
