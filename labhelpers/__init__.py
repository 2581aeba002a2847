"""seqlab's helpers: the grading core, one module per lab, and the instructor tools.

Notebooks import the lab they serve, e.g. `from labhelpers import rnn`, and `import labhelpers`
before TensorFlow: from then on TensorFlow starts without its start-up log lines.

Why: TensorFlow's C++ libraries log INFO lines ("oneDNN custom operations are on", "Could not find
cuda drivers", each after absl's "All log messages before absl::InitializeLog()" line, once per
library) while they load, before they read TF_CPP_MIN_LOG_LEVEL, so that variable cannot silence
them and a kernel shows them in red; on a machine without an NVIDIA driver, the first use of a
device adds the error "failed call to cuInit", which only says that there is no GPU. Importing this
package sets TF_CPP_MIN_LOG_LEVEL to 2 unless it is set, and arranges that TensorFlow's first import
(and, without a driver, its device discovery) sends file descriptor 2 to a buffer, then writes back
every line but those: absl's INFO lines (unless TF_CPP_MIN_LOG_LEVEL is 0) and, only where no NVIDIA
driver is installed, the cuInit error. Other warnings and errors, and Python's output, are kept.

oneDNN also logs, once per process and as an error, that it "supports DT_INT32 only on platforms
with AVX-512" and falls back to Eigen: a notice about the first integer or boolean op it meets (the
masks of Labs 04 and 05, the ids of Lab 03), printed even on CPUs whose flags list AVX-512. Where no
NVIDIA driver is installed, the start runs one small int32 transpose so that the notice comes there,
where it is dropped, rather than in the middle of a lab.
"""

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from contextlib import contextmanager

__version__ = "0.1.0"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# absl's preamble and its INFO lines: "I0000 00:00:1795981116.864383   26123 port.cc:153] ...".
EARLY_INFO = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
                        r"|I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\] ")
NO_GPU_ERROR = re.compile(r"E\d{4} \d\d:\d\d:\d+\.\d+ +\d+ cuda_platform\.cc:\d+\] failed call to cuInit: ")
NO_AVX512_NOTICE = re.compile(r"E\d{4} \d\d:\d\d:\d+\.\d+ +\d+ util\.cc:\d+\] oneDNN supports DT_\w+ only on platforms "
                              r"with AVX-512\. Falling back to the default Eigen-based implementation if present\.$")


def _info_hidden() -> bool:
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")
    return level.isdigit() and int(level) >= 1


def _no_nvidia_driver() -> bool:
    return not os.path.exists("/proc/driver/nvidia")


def _noise(line: str) -> bool:
    return bool((_info_hidden() and EARLY_INFO.match(line)) or (_no_nvidia_driver() and NO_GPU_ERROR.match(line))
                or NO_AVX512_NOTICE.match(line))


@contextmanager
def startup_noise_dropped():
    """Hold what is written to file descriptor 2; on exit write it back less the start-up noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            kept = [line for line in lines if not _noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run with startup_noise_dropped (with device discovery if no driver)."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        _disarm()
        with startup_noise_dropped():
            self.loader.exec_module(module)
            if _no_nvidia_driver():
                module.config.list_physical_devices()  # where cuInit fails; memory settings stay possible
                module.function(module.transpose)(module.zeros((2, 2), module.int32))  # oneDNN's notice

    def __getattr__(self, name):
        return getattr(self.loader, name)


class _QuietTensorFlowStart(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` and hands it _QuietLoader, until it is imported. A lookup alone (PyTorch's
    importlib.util.find_spec("tensorflow")) leaves the finder armed for the real import."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or name in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def _disarm():
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _QuietTensorFlowStart)]


if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowStart) for f in sys.meta_path):
    sys.meta_path.insert(0, _QuietTensorFlowStart())

from labhelpers import backends as _backends  # noqa: E402  (standard library only)

_backends.register_cell_magic()  # %%backend, for the backend cells of the solution notebooks
