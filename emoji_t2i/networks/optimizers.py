"""Adam and AdamW whose TensorFlow update is one fused kernel per weight.

Keras's Adam writes its update in ``keras.ops``: about thirty graph ops per weight (casts, the
bias corrections, both moments, the step), each built in Python when a train step is traced.
Here the update under TensorFlow is TensorFlow's own ``ResourceApplyAdam`` kernel, the same arithmetic
(``m += (g - m)(1 - b1)``, ``v += (g^2 - v)(1 - b2)``,
``w -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)``) on the same moment variables, so
checkpoints, ``training/state.py``'s names and a resume under JAX see no difference. Sparse
gradients, AMSGrad and the JAX backend take Keras's own update. The default U-Net's traced
train step (293 weights) went from 25,163 graph ops to 19,235 (``benchmarks/train_step_trace.py``).
"""

from __future__ import annotations

import keras


class _FusedAdamUpdate:
    def update_step(self, gradient, variable, learning_rate):
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        if isinstance(gradient, tf.IndexedSlices) or isinstance(variable, keras.Variable):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))


@keras.saving.register_keras_serializable("emoji_t2i")
class Adam(_FusedAdamUpdate, keras.optimizers.Adam):
    """``keras.optimizers.Adam`` (same arguments, same state) with a fused TensorFlow update."""


@keras.saving.register_keras_serializable("emoji_t2i")
class AdamW(_FusedAdamUpdate, keras.optimizers.AdamW):
    """``keras.optimizers.AdamW`` (same arguments, same state) with a fused TensorFlow update;
    the decoupled weight decay stays Keras's, applied before it."""
