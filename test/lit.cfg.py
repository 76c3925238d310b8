# lit configuration for spa's FileCheck and execution tests.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "SPA"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".py", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.spa_obj_root, "test")
# Unit/ is its own suite (GoogleTest); Inputs/ holds files other tests read;
# lib/ holds Python modules the tests import (not tests themselves).
config.excludes = ["Unit", "Inputs", "lib", "lit.cfg.py", "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%spa_lib_dir", config.spa_lib_dir))
config.substitutions.append(("%spa_src_root", config.spa_src_root))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%spa_tools_dir", config.spa_tools_dir))
config.substitutions.append(("%spa_obj_root", config.spa_obj_root))

llvm_config.with_system_environment(["HOME", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# Debian's mlir-opt is the host tool the plugin test loads into.
tool_dirs = [config.spa_tools_dir, config.llvm_tools_dir]
tools = [
    "spa-opt",
    "spa-cuda-compile",
    "spa-run",
    ToolSubst("mlir-opt", os.path.join(config.llvm_tools_dir, "mlir-opt")),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
# python/: the spa package's pure-Python modules; test/lib: spa_reference.
llvm_config.with_environment("PYTHONPATH",
                             [os.path.join(config.spa_src_root, "python"),
                              os.path.join(config.spa_src_root, "test", "lib")],
                             append_path=True)

# ptxas (CUDA toolkit) assembles cubins; tests that write artifacts need it.
import shutil
if shutil.which("ptxas") or os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")

# atheris (requirements-dev.txt; wheels for some Python versions only)
# drives the fuzz target in test/Fuzz.
import subprocess
if subprocess.run([config.python_executable, "-c", "import atheris"],
                  capture_output=True).returncode == 0:
    config.available_features.add("atheris")
