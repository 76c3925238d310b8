"""PyTorch models that call `spa.torch.attention`, through torch-mlir into
spa's IR.

    import spa, spa.torch_mlir
    module = spa.torch_mlir.import_module(model, x)   # spa.ir.Module, @main
    fn = spa.compile(module, target="cpu", entry="main")
    y = fn(x.numpy())

How (docs/integrations.md has the whole story):

1. torch-mlir's FX importer (`torch.export` underneath) turns the model into
   torch-dialect IR; `torch.ops.spa.attention` arrives as
   `torch.operator "torch.spa.attention"` with its band arguments as
   constants.
2. torch-mlir's `torchdynamo-export-to-torch-backend-pipeline` runs with an
   extra library that declares that operator value-semantic (without it
   `torch-reduce-op-variants` refuses the op).
3. Each such operator becomes a call of a private function
   `@__spa_attention_<n>` declared on its three tensors; torch-mlir's
   `torch-backend-to-linalg-on-tensors-backend-pipeline` (all but its final
   contract check, which refuses calls) lowers everything else to
   linalg-on-tensors and turns the calls' torch tensors into builtin ones.
4. The text goes to spa's own MLIR (`spa.ir.parse`) with each callee
   defined as a function holding one `spa.attention` (bands, mode, scale
   carried over, written by `spa.LayerSpec`); `inline` puts the ops where
   the custom op was.

Steps 1-3 and torch-mlir's half of 4 run in a child process
(`python -m spa.torch_mlir`) on the model saved by `torch.export`:
torch-mlir's wheel carries its own LLVM, and loading it into a process where
spa's JIT has run aborts ("Option 'print-inst-addrs' registered more than
once"), so the two LLVMs never share a process.

Every failure is a `spa.MLIRError` whose lines are `loc: error: message`
with torch-mlir's locations (the model's Python source lines).
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import replace
from typing import Dict, List, Tuple

# What this flow was built and tested with (requirements-iree.txt pins it).
TORCH_MLIR_VERSION = "20261001"

ATTENTION_OPERATOR = "torch.spa.attention"
_CALLEE_PREFIX = "__spa_attention_"

# torch-reduce-op-variants keeps a `torch.operator` only where a library
# function of this name says it is value-semantic.
_EXTRA_LIBRARY = f"""module {{
  func.func @"__torch_mlir_has_value_semantics_fn.{ATTENTION_OPERATOR}"() {{
    return
  }}
}}
"""

_DTYPES = {"f32", "f16", "bf16"}

# torch-backend-to-linalg-on-tensors-backend-pipeline without its last pass,
# torch-verify-linalg-on-tensors-backend-contract, which refuses the calls
# (`_check_lowered` checks what spa needs instead).
_TO_LINALG = ",".join([
    "func.func(torch-restructure-non-constant-axes)",
    "func.func(torch-fuse-quantized-ops)",
    "func.func(convert-torch-to-tmtensor)", "func.func(canonicalize)",
    "func.func(convert-torch-to-linalg)", "func.func(canonicalize)",
    "func.func(convert-torch-to-scf)", "func.func(convert-torch-to-arith)",
    "func.func(convert-torch-to-tensor)",
    "convert-torch-conversion-to-mlprogram", "func.func(memref-expand)",
    "func.func(canonicalize)",
    "func.func(resolve-shaped-type-result-dims)", "func.func(cse)",
    "torch-func-backend-type-conversion", "func.func(canonicalize)",
    "func.func(torch-finalizing-backend-type-conversion)"])

# Dialects torch-mlir may leave that spa's MLIR does not have.
_FOREIGN = ("torch.", "torch_c.", "tm_tensor.")


class _Located(Exception):
    """What the child process reports: diagnostics lines (`loc: error:
    msg`), raised as spa.MLIRError by the parent."""


def _torch_mlir():
    try:
        from torch_mlir import fx, ir
        from torch_mlir.passmanager import PassManager
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(
            "spa.torch_mlir needs torch-mlir (pip install -r "
            f"requirements-iree.txt; tested with torch-mlir=="
            f"{TORCH_MLIR_VERSION}): {e}") from None
    return fx, ir, PassManager


class _Diagnostics:
    """Collects a torch-mlir context's diagnostics as `loc: error: msg`
    lines (what spa.MLIRError carries)."""

    def __init__(self, context):
        self.lines: List[str] = []
        # Errors go to handlers, not only into the pass manager's exception.
        context.emit_error_diagnostics = True
        self._handle = context.attach_diagnostic_handler(self._record)

    def _record(self, diagnostic) -> bool:
        severity = str(diagnostic.severity).rsplit(".", 1)[-1].lower()
        self.lines.append(f"{diagnostic.location}: {severity}: "
                          f"{diagnostic.message}")
        for note in diagnostic.notes:
            self.lines.append(f"{note.location}: note: {note.message}")
        return True

    def detach(self):
        self._handle.detach()

    def fail(self, what: str) -> "_Located":
        errors = [line for line in self.lines if ": error: " in line]
        text = "\n".join(errors or self.lines or [f"<unknown>: error: {what}"])
        return _Located(f"{text}\n(torch-mlir: {what})")


def _run(PassManager, module, pipeline: str, diagnostics: _Diagnostics,
         what: str) -> None:
    with module.context:
        try:
            PassManager.parse(pipeline).run(module.operation)
        except Exception:  # torch-mlir raises a plain MLIRError/RuntimeError
            raise diagnostics.fail(what) from None


def _operators(ir, module) -> list:
    found = []

    def visit(op):
        if op.name == "torch.operator":
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


def _operator_name(ir, op) -> str:
    return ir.StringAttr(op.attributes["name"]).value


def _located(op, message: str) -> str:
    return f"{op.location}: error: {message}"


def _unsupported(name: str) -> str:
    if name.startswith("torch.aten.") or name.startswith("torch.prims."):
        return (f"operator '{name}' has no lowering in torch-mlir (it stays "
                "a torch.operator); spa.torch_mlir supports what torch-mlir "
                "lowers to linalg plus spa.torch.attention")
    return (f"custom operator '{name}' is not supported: spa.torch_mlir "
            f"lowers only '{ATTENTION_OPERATOR}' (spa.torch.attention) and "
            "what torch-mlir lowers to linalg")


def _check_operators(ir, module) -> None:
    """Only `torch.spa.attention` may stay a `torch.operator`: an aten op
    torch-mlir does not know, or any other custom op, has no lowering
    anywhere in this flow."""
    bad = [op for op in _operators(ir, module)
           if _operator_name(ir, op) != ATTENTION_OPERATOR]
    if bad:
        raise _Located("\n".join(
            _located(op, _unsupported(_operator_name(ir, op)))
            for op in bad))


_VTENSOR = re.compile(r"!torch\.vtensor<\[([^\]]*)\],(\w+)>")


def _tensor_shape(op, value) -> Tuple[List[int], str]:
    text = str(value.type)
    m = _VTENSOR.fullmatch(text)
    if not m or m.group(2) not in _DTYPES or "?" in m.group(1):
        raise _Located(_located(
            op, f"spa.attention operand of type {text}: spa.torch_mlir "
            "needs static shapes and f32, f16 or bf16 (export without "
            "dynamic_shapes)"))
    return [int(d) for d in m.group(1).split(",")], m.group(2)


def _constant(ir, op, value, index: int):
    """The Python value of the operator's constant operand #index."""
    owner = value.owner
    name = getattr(owner, "name", "")
    if name == "torch.prim.ListConstruct":
        return [_constant(ir, op, v, index) for v in owner.operands]
    attr = owner.attributes["value"] if name.startswith(
        "torch.constant.") else None
    if name == "torch.constant.int":
        return ir.IntegerAttr(attr).value
    if name == "torch.constant.float":
        return ir.FloatAttr(attr).value
    if name == "torch.constant.str":
        return ir.StringAttr(attr).value
    if name == "torch.constant.bool":
        return ir.BoolAttr(attr).value
    raise _Located(_located(
        op, f"argument #{index} of {ATTENTION_OPERATOR} is not a constant "
        f"(defined by '{name or 'a block argument'}'): the band choice, mode "
        "and scale must be known when the model is imported"))


def _layer_spec(ir, op, index: int):
    """The LayerSpec of one `torch.spa.attention` operator (its operands are
    those of `spa::attention`, see spa/torch/ops.py)."""
    from .torch.config import KernelConfig
    (q, qt), (k, kt), (v, vt) = (_tensor_shape(op, op.operands[i])
                                 for i in range(3))
    bands, policy, mode, window, scale, _ = (
        _constant(ir, op, op.operands[i], i) for i in range(3, 9))
    config = KernelConfig("cpu", q[0], q[1], k[1], q[2], k[2], q[3], v[3],
                          qt, mode, policy, tuple(bands), window, scale)
    return replace(config.layer_spec(), name=f"{_CALLEE_PREFIX}{index}")


def _to_calls(ir, module) -> Dict[str, str]:
    """Replaces each `torch.spa.attention` operator by a call of a private
    function (its tensor operands and results); returns {callee: its spa
    definition}."""
    from torch_mlir.dialects import func
    definitions = {}
    with module.context:
        for index, op in enumerate(_operators(ir, module)):
            spec = _layer_spec(ir, op, index)
            definitions[spec.name] = spec.to_mlir()
            loc = op.location
            # Torch tensor types: torch-func-backend-type-conversion turns
            # the declaration and the call to builtin tensors.
            args = list(op.operands)[:3]
            arg_types = [a.type for a in args]
            result_types = [r.type for r in op.results]
            with ir.InsertionPoint.at_block_begin(module.body), loc:
                func.FuncOp(spec.name, (arg_types, result_types),
                            visibility="private")
            with ir.InsertionPoint(op), loc:
                call = ir.Operation.create(
                    "func.call", results=result_types, operands=args,
                    attributes={"callee": ir.FlatSymbolRefAttr.get(
                        spec.name)})
                for result, new in zip(op.results, call.results):
                    result.replace_all_uses_with(new)
            op.erase()
    return definitions


def _check_lowered(ir, module) -> None:
    """What torch-mlir could not lower to linalg (the verifier we skip
    would have said it): a located error per op."""
    left = []

    def visit(op):
        if op.name.startswith(_FOREIGN):
            left.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    if left:
        raise _Located("\n".join(
            _located(op, f"'{op.name}' was not lowered to linalg by "
                     "torch-mlir; spa.torch_mlir supports what torch-mlir's "
                     "linalg-on-tensors backend supports") for op in left))


def _erase_declarations(ir, module, names) -> None:
    for op in list(module.body.operations):
        if (op.operation.name == "func.func" and ir.StringAttr(
                op.operation.attributes["sym_name"]).value in names):
            op.operation.erase()


def _with_definitions(text: str, definitions: Dict[str, str]) -> str:
    """Puts the callee definitions at the top of the module body."""
    m = re.search(r"^module\b[^\n]*\{\n", text, re.M)
    if not m:
        raise _Located("<torch-mlir>: error: printed module has no "
                        "'module {' line (unexpected torch-mlir output)")
    body = "".join(definitions[name].replace(
        f"func.func @{name}(", f"func.func private @{name}(", 1)
        for name in definitions)
    return text[:m.end()] + body + text[m.end():]


def _lower(program, entry: str) -> str:
    """Steps 1-4 on an ExportedProgram, in this process: the module text
    for spa, callee definitions included."""
    import spa.torch  # noqa: F401  registers torch.ops.spa.attention
    fx, ir, PassManager = _torch_mlir()
    module = fx.export_and_import(program, output_type="raw",
                                  func_name=entry)
    _check_operators(ir, module)
    diagnostics = _Diagnostics(module.context)
    library = tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False)
    try:
        with library:
            library.write(_EXTRA_LIBRARY)
        _run(PassManager, module,
             "builtin.module(func.func(torch-match-quantized-custom-ops), "
             "torchdynamo-export-to-torch-backend-pipeline{extra-library="
             f"{library.name}}})", diagnostics,
             "lowering to the torch backend contract")
        definitions = _to_calls(ir, module)
        _run(PassManager, module, f"builtin.module({_TO_LINALG})",
             diagnostics, "lowering to linalg-on-tensors")
    finally:
        diagnostics.detach()
        os.unlink(library.name)
    _check_lowered(ir, module)
    _erase_declarations(ir, module, definitions)
    text = module.operation.get_asm(enable_debug_info=True,
                                    assume_verified=True)
    return _with_definitions(text, definitions)


def _child(program_path: str, result_path: str, entry: str) -> None:
    """`python -m spa.torch_mlir PROGRAM RESULT ENTRY`: lowers the saved
    ExportedProgram, writes {"text": ...} or {"error": ...} as JSON."""
    import torch
    import spa.torch  # noqa: F401  the op must exist before loading
    try:
        result = {"text": _lower(torch.export.load(program_path), entry)}
    except _Located as e:
        result = {"error": str(e)}
    with open(result_path, "w") as f:
        json.dump(result, f)


# Operator namespaces torch-mlir lowers (spa's own op is handled here).
_KNOWN_NAMESPACES = {"aten", "prim", "prims", "spa"}


def _node_location(node) -> str:
    """The model source line of an FX node, as torch-mlir writes it."""
    frames = re.findall(r'File "([^"]+)", line (\d+)',
                        node.meta.get("stack_trace") or "")
    if not frames:
        return f"loc(\"{node.name}\")"
    path, line = frames[-1]
    return f'loc("{path}":{line}:0)'


def _check_custom_ops(program) -> None:
    """A custom op other than spa's has no lowering in this flow (and the
    child process could not even load it): a located error per call."""
    import torch
    lines = []
    for node in program.graph.nodes:
        target = node.target
        if node.op != "call_function" or not isinstance(
                target, torch._ops.OpOverload):
            continue
        namespace = target.namespace
        if namespace not in _KNOWN_NAMESPACES:
            name = f"torch.{namespace}.{target._opname}"
            lines.append(f"{_node_location(node)}: error: "
                         f"{_unsupported(name)}")
    if lines:
        raise _Located("\n".join(lines))


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_module(model, *example_args, entry: str = "main"):
    """Imports `model` (a torch.nn.Module calling spa.torch.attention),
    traced with `example_args`, into a spa.ir.Module whose function `entry`
    (default "main") takes the example arguments' shapes and dtypes and
    returns the model's outputs: linalg-on-tensors for everything torch-mlir
    lowers, `spa.attention` where the model called spa.torch.attention.

    Raises spa.MLIRError (lines `loc: error: msg`, locations in the model's
    source) when torch-mlir cannot lower an op, a custom op other than
    spa.attention is left, or an attention argument is not a constant.
    """
    import torch
    import spa.torch  # noqa: F401  registers torch.ops.spa.attention
    from .ir import MLIRError, parse
    if importlib.util.find_spec("torch_mlir") is None:
        raise ImportError(
            "spa.torch_mlir needs torch-mlir (pip install -r "
            f"requirements-iree.txt; tested with torch-mlir=="
            f"{TORCH_MLIR_VERSION})")
    program = torch.export.export(model, tuple(example_args), strict=False)
    try:
        _check_custom_ops(program)
    except _Located as e:
        raise MLIRError(str(e)) from None
    with tempfile.TemporaryDirectory(prefix="spa-torch-mlir-") as tmp:
        program_path = os.path.join(tmp, "program.pt2")
        result_path = os.path.join(tmp, "result.json")
        torch.export.save(program, program_path)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [_package_root()] + [p for p in env.get("PYTHONPATH", "").split(
                os.pathsep) if p])
        run = subprocess.run(
            [sys.executable, "-m", "spa.torch_mlir", program_path,
             result_path, entry], env=env, capture_output=True, text=True)
        if run.returncode != 0 or not os.path.exists(result_path):
            raise RuntimeError(
                "spa.torch_mlir: the torch-mlir child process failed "
                f"(exit {run.returncode}):\n{run.stderr[-4000:]}")
        with open(result_path) as f:
            result = json.load(f)
    if "error" in result:
        raise MLIRError(result["error"])
    module = parse(result["text"], "<torch-mlir>")
    if "func.func private @" + _CALLEE_PREFIX in result["text"]:
        module.run_pipeline("inline,symbol-dce")
    return module


if __name__ == "__main__":
    _child(*sys.argv[1:4])
