"""What a service or a data scientist gets from `import segengine`: names, version, import cost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import segengine as se


def test_public_api_names():
    for name in ["segmentation_report", "handle_request", "Segmenter", "KMeans", "GaussianMixture",
                 "silhouette_score", "silhouette_samples", "select_k", "datasets", "SegEngineError",
                 "InvalidRequestError", "ValidationError", "ModelFileError", "NotFittedError"]:
        assert getattr(se, name) is not None, name
    assert issubclass(se.InvalidRequestError, se.SegEngineError) and se.InvalidRequestError.status == 400
    assert issubclass(se.ValidationError, se.SegEngineError) and se.ValidationError.status == 422


def test_version_is_the_package_version():
    from importlib.metadata import version

    assert se.__version__ == version("segengine")


def test_typed_package():
    assert (Path(se.__file__).parent / "py.typed").exists()


def test_the_report_path_does_not_import_scikit_learn():
    # scikit-learn costs about a second of import; a service's cold start must not pay it.
    code = (
        "import sys, segengine as se\n"
        "from segengine.datasets import make_numeric_customers\n"
        "r, _ = make_numeric_customers(n=300, n_features=4, random_state=0)\n"
        "se.segmentation_report({'data': r})\n"
        "seg = se.Segmenter(algorithm='gmm').fit(r); seg.predict(r[:5])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
