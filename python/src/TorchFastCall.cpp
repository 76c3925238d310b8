//===- TorchFastCall.cpp - spa.torch's compiled eager call path -----------===//
//
// The extension module `spa.torch._spa_torch_native`: one foreign call per
// eager spa.torch kernel launch. A `FastCall` is made once per loaded op
// (python/spa/torch/native.py) from the op's launch contract: the inputs'
// dtypes, shapes and strides as compiled, the outputs' and scratch buffers'
// allocations, the device, and the packed launch plan with the address of
// libspa_launcher.so's spa_launch_op. A call
//
//   fast_call(handle, stream, *inputs) -> tuple of outputs | None | int
//
// checks every input against the contract (a torch.Tensor, not a
// subclass other than Parameter; device,
// dtype, sizes,
// strides, 16-byte aligned data), allocates the outputs and scratch with
// at::empty_strided (PyTorch's caching allocator, the op's device),
// and launches the op's kernels on `stream` through spa_launch_op. It
// returns None when an input does not match (the caller takes the checked
// Python path, which copies or reports), or the launcher's nonzero code
// when the launch was refused (the caller turns it into its message).
//
// Why C++ and the CPython API rather than Python or pybind11: issue #12 asks
// under 15 us of host time per small call; the Python path's allocations,
// pointer gathering and argument packing alone cost more than that on the
// H200's host (docs/torch.md, "Launch overhead").
//
// Built only where PyTorch's headers are importable (python/CMakeLists.txt);
// links libtorch_python for THPVariable_Unpack/Wrap. No CUDA headers: the
// allocation goes through the dispatcher, the launch through the C
// launcher's function pointer.
//
//===----------------------------------------------------------------------===//

#include "spa/Launcher/SpaLauncher.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty_strided.h>
#include <torch/csrc/Dtype.h>
#include <torch/csrc/autograd/python_variable.h>

#include <Python.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

using LaunchOp = int64_t (*)(const int64_t *plan, const uint64_t *slots,
                             int64_t slotCount, void *stream);

constexpr const char *kCapsuleName = "spa.torch.FastCall";
constexpr Py_ssize_t kMaxSlots = 64;

struct BufferSpec {
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  at::ScalarType dtype;
};

struct FastCall {
  LaunchOp launchOp = nullptr;
  const int64_t *plan = nullptr; // owned by the Python launcher object
  int64_t slots = 0;
  // CUDA in use; CPU only for the tests and the launch-overhead benchmark,
  // which launch into a recording or null driver.
  at::Device device{at::kCUDA, 0};
  std::vector<BufferSpec> inputs;
  std::vector<BufferSpec> allocations; // outputs, then scratch
  Py_ssize_t outputs = 0;
};

// --- construction -----------------------------------------------------------

bool readInts(PyObject *sequence, std::vector<int64_t> &out,
              const char *what) {
  PyObject *fast = PySequence_Fast(sequence, what);
  if (!fast)
    return false;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  out.resize(n);
  for (Py_ssize_t i = 0; i < n; ++i) {
    long long value = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(fast, i));
    if (value == -1 && PyErr_Occurred()) {
      Py_DECREF(fast);
      return false;
    }
    out[i] = value;
  }
  Py_DECREF(fast);
  return true;
}

// `specs`: a sequence of (sizes, strides, torch.dtype).
bool readSpecs(PyObject *specs, std::vector<BufferSpec> &out,
               const char *what) {
  PyObject *fast = PySequence_Fast(specs, what);
  if (!fast)
    return false;
  for (Py_ssize_t i = 0, n = PySequence_Fast_GET_SIZE(fast); i < n; ++i) {
    PyObject *sizes, *strides, *dtype;
    if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "OOO", &sizes,
                          &strides, &dtype)) {
      Py_DECREF(fast);
      return false;
    }
    BufferSpec spec;
    if (!readInts(sizes, spec.sizes, what) ||
        !readInts(strides, spec.strides, what)) {
      Py_DECREF(fast);
      return false;
    }
    if (!THPDtype_Check(dtype) || spec.sizes.size() != spec.strides.size()) {
      Py_DECREF(fast);
      PyErr_Format(PyExc_TypeError,
                   "%s[%zd]: expected (sizes, strides of the same rank, "
                   "torch.dtype)",
                   what, i);
      return false;
    }
    spec.dtype = reinterpret_cast<THPDtype *>(dtype)->scalar_type;
    out.push_back(std::move(spec));
  }
  Py_DECREF(fast);
  return true;
}

void destroy(PyObject *capsule) {
  delete static_cast<FastCall *>(PyCapsule_GetPointer(capsule, kCapsuleName));
}

// make_fast_call(launch_op, plan, slots, device_type, device_index, inputs,
//                allocations, outputs) -> capsule
PyObject *makeFastCall(PyObject *, PyObject *args) {
  unsigned long long launchOp, plan;
  long long slots, deviceIndex;
  const char *deviceType;
  PyObject *inputs, *allocations;
  Py_ssize_t outputs;
  if (!PyArg_ParseTuple(args, "KKLsLOOn", &launchOp, &plan, &slots,
                        &deviceType, &deviceIndex, &inputs, &allocations,
                        &outputs))
    return nullptr;
  auto call = std::make_unique<FastCall>();
  std::string type = deviceType;
  if (type == "cuda") {
    call->device = at::Device(at::kCUDA,
                              static_cast<c10::DeviceIndex>(deviceIndex));
  } else if (type == "cpu") {
    call->device = at::Device(at::kCPU);
  } else {
    PyErr_Format(PyExc_ValueError,
                 "make_fast_call: device type '%s' (expected cuda or cpu)",
                 deviceType);
    return nullptr;
  }
  call->launchOp = reinterpret_cast<LaunchOp>(launchOp);
  call->plan = reinterpret_cast<const int64_t *>(plan);
  call->slots = slots;
  call->outputs = outputs;
  if (!readSpecs(inputs, call->inputs, "inputs") ||
      !readSpecs(allocations, call->allocations, "allocations"))
    return nullptr;
  if (!launchOp || !plan || outputs < 0 ||
      outputs > static_cast<Py_ssize_t>(call->allocations.size()) ||
      slots != static_cast<long long>(call->inputs.size() +
                                      call->allocations.size()) ||
      slots > kMaxSlots) {
    PyErr_SetString(PyExc_ValueError,
                    "make_fast_call: a null launcher or plan, or slot and "
                    "buffer counts that disagree");
    return nullptr;
  }
  PyObject *capsule = PyCapsule_New(call.get(), kCapsuleName, destroy);
  if (capsule)
    call.release();
  return capsule;
}

// --- the call ---------------------------------------------------------------

bool matches(const at::Tensor &t, const BufferSpec &spec,
             const at::Device &device) {
  if (!t.defined() || t.device() != device || t.scalar_type() != spec.dtype)
    return false;
  if (t.sizes() != c10::IntArrayRef(spec.sizes) ||
      t.strides() != c10::IntArrayRef(spec.strides))
    return false;
  auto address = reinterpret_cast<uintptr_t>(t.data_ptr());
  return address && address % SPA_POINTER_ALIGN == 0;
}

// fast_call(handle, stream, *inputs)
PyObject *fastCall(PyObject *, PyObject *const *args, Py_ssize_t nargs) {
  if (nargs < 2) {
    PyErr_SetString(PyExc_TypeError, "fast_call(handle, stream, *inputs)");
    return nullptr;
  }
  auto *call = static_cast<FastCall *>(
      PyCapsule_GetPointer(args[0], kCapsuleName));
  if (!call)
    return nullptr;
  unsigned long long stream = PyLong_AsUnsignedLongLong(args[1]);
  if (stream == static_cast<unsigned long long>(-1) && PyErr_Occurred())
    return nullptr;
  Py_ssize_t inputCount = nargs - 2;
  if (inputCount != static_cast<Py_ssize_t>(call->inputs.size())) {
    PyErr_Format(PyExc_TypeError, "fast_call: %zd inputs, the op takes %zu",
                 inputCount, call->inputs.size());
    return nullptr;
  }
  uint64_t slots[kMaxSlots];
  for (Py_ssize_t i = 0; i < inputCount; ++i) {
    PyObject *object = args[2 + i];
    // Exactly torch.Tensor (or Parameter, the same to C++): another
    // subclass may override what a call does (__torch_function__), so it
    // takes the dispatched path.
    if (!THPVariable_CheckExact(object))
      Py_RETURN_NONE;
    const at::Tensor &t = THPVariable_Unpack(object);
    if (!matches(t, call->inputs[i], call->device))
      Py_RETURN_NONE;
    slots[i] = reinterpret_cast<uintptr_t>(t.data_ptr());
  }
  std::vector<at::Tensor> buffers;
  buffers.reserve(call->allocations.size());
  try {
    for (const BufferSpec &spec : call->allocations) {
      buffers.push_back(at::empty_strided(
          spec.sizes, spec.strides,
          at::TensorOptions().dtype(spec.dtype).device(call->device)));
      slots[inputCount + buffers.size() - 1] =
          reinterpret_cast<uintptr_t>(buffers.back().data_ptr());
    }
  } catch (const std::exception &e) {
    // The caching allocator's out-of-memory, as PyTorch reports it.
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
  int64_t code = call->launchOp(call->plan, slots, call->slots,
                                reinterpret_cast<void *>(stream));
  if (code != 0)
    return PyLong_FromLongLong(code);
  PyObject *result = PyTuple_New(call->outputs);
  if (!result)
    return nullptr;
  for (Py_ssize_t i = 0; i < call->outputs; ++i) {
    PyObject *wrapped = THPVariable_Wrap(std::move(buffers[i]));
    if (!wrapped) {
      Py_DECREF(result);
      return nullptr;
    }
    PyTuple_SET_ITEM(result, i, wrapped);
  }
  return result;
}

PyMethodDef methods[] = {
    {"make_fast_call", makeFastCall, METH_VARARGS,
     "make_fast_call(launch_op, plan, slots, device, inputs, allocations, "
     "outputs) -> handle"},
    {"fast_call", reinterpret_cast<PyCFunction>(reinterpret_cast<void *>(
                      fastCall)),
     METH_FASTCALL,
     "fast_call(handle, stream, *inputs) -> outputs | None | launch error"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef moduleDef = {PyModuleDef_HEAD_INIT, "_spa_torch_native",
                         "spa.torch's compiled eager call path", -1, methods,
                         nullptr, nullptr, nullptr, nullptr};

} // namespace

PyMODINIT_FUNC PyInit__spa_torch_native() {
  PyObject *module = PyModule_Create(&moduleDef);
  if (module && (PyModule_AddIntConstant(module, "ABI", SPA_LAUNCHER_ABI) ||
                 PyModule_AddStringConstant(module, "TORCH_VERSION",
                                            SPA_TORCH_VERSION))) {
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}
