"""The fitted track classifier: load and save its parameter file.

The classifier the engine runs at every output epoch is the multinomial
logistic regression of :func:`kernels.classify.classify_model`; its numbers
(standardisation of the design columns, weights, bias, temperature, the
thin-evidence constant and the radar calibration) live in
``classify_model.json`` beside this module, written by
``benchmarks/fit_classifier.py`` from simulated data with fixed seeds.  The
file names every entry, so a reader can see which design column weighs how
much for which class; :func:`load_classify_model` turns it into the flat
vector the kernel takes and refuses a file made for another design.
"""
import json
import os

import numpy as np

from kernels import classify as K

#: The shipped model (package data).
MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "classify_model.json")


def model_to_dict(model, info=None):
    """The model vector as a named, JSON-ready dict (``info``: provenance)."""
    model = K.validate_model_params(model)
    w = model[K.M_WEIGHTS:K.M_BIAS].reshape(K.N_CLASSES, K.N_DESIGN)
    return {
        "format": "radarcore-classify-model/1",
        "classes": list(K.CLASS_NAMES),
        "design": list(K.DESIGN_NAMES),
        "evidence_s": float(model[K.M_EVIDENCE_S]),
        "temperature": float(model[K.M_TEMPERATURE]),
        "snr_1m2_1km_db": float(model[K.M_SNR_1M2_1KM_DB]),
        "mean": model[K.M_MEAN:K.M_MEAN + K.N_BASE].tolist(),
        "scale": model[K.M_SCALE:K.M_SCALE + K.N_BASE].tolist(),
        "weights": {name: w[c].tolist() for c, name in enumerate(K.CLASS_NAMES)},
        "bias": model[K.M_BIAS:K.M_BIAS + K.N_CLASSES].tolist(),
        "info": info or {},
    }


def model_from_dict(data, source="model", kernel=K):
    """The flat model vector of a dict written by :func:`model_to_dict`.

    ``kernel``: the classification module whose layout the vector takes
    (default :mod:`kernels.classify`; a benchmark passes an older revision's).

    Raises
    ------
    ValueError
        A missing key, or a model made for other classes or design columns
        (the message names the source and the key).
    """
    try:
        if list(data["classes"]) != list(kernel.CLASS_NAMES):
            raise ValueError(f"{source}: classes {data['classes']} are not {list(kernel.CLASS_NAMES)}")
        if list(data["design"]) != list(kernel.DESIGN_NAMES):
            raise ValueError(f"{source}: its design columns are not this kernel's: refit it "
                             "(benchmarks/fit_classifier.py)")
        model = np.zeros(kernel.N_MODEL_PARAMS)
        model[kernel.M_N_DESIGN] = kernel.N_DESIGN
        model[kernel.M_EVIDENCE_S] = data["evidence_s"]
        model[kernel.M_TEMPERATURE] = data["temperature"]
        model[kernel.M_SNR_1M2_1KM_DB] = data["snr_1m2_1km_db"]
        model[kernel.M_MEAN:kernel.M_MEAN + kernel.N_BASE] = data["mean"]
        model[kernel.M_SCALE:kernel.M_SCALE + kernel.N_BASE] = data["scale"]
        w = np.array([data["weights"][name] for name in kernel.CLASS_NAMES], dtype=np.float64)
        model[kernel.M_WEIGHTS:kernel.M_BIAS] = w.reshape(-1)
        model[kernel.M_BIAS:kernel.M_BIAS + kernel.N_CLASSES] = data["bias"]
    except KeyError as error:
        raise ValueError(f"{source}: missing key {error.args[0]!r}") from None
    except (TypeError, ValueError) as error:
        if isinstance(error, ValueError) and str(error).startswith(source):
            raise
        raise ValueError(f"{source}: malformed model ({error})") from None
    return kernel.validate_model_params(model)


def load_classify_model(path=None):
    """The model vector of ``path`` (default: the shipped :data:`MODEL_PATH`)."""
    path = MODEL_PATH if path is None else path
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return model_from_dict(data, source=str(path))


def save_classify_model(model, path, info=None):
    """Write a model vector as JSON (named entries, provenance in ``info``)."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(model_to_dict(model, info), handle, indent=1)
        handle.write("\n")
