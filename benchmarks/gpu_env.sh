# Sourced by the gpu_*.sh recipes: the GPU image has JAX with CUDA but no Keras, so the wheels
# carried in .whl/ (keras, namex, optree) are installed for this process; Keras runs on JAX.
PY=${PY:-python3}
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
if ! "$PY" -c "import keras" 2>/dev/null && [ -d .whl ]; then
  "$PY" -m pip install -q --no-index --find-links .whl --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site keras namex optree  # by name: pip picks the wheel of this Python
fi
export PYTHONPATH=/tmp/site:$PWD
"$PY" -c "import jax, keras; print(jax.__version__, keras.__version__, jax.devices())"
