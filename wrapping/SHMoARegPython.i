// Added to the SHMoAReg wrapping (included in each of its submodules).

// The module's long calls run with the GIL released: LibTorch's autograd refuses to run in a
// thread that holds it once PyTorch's Python module is loaded (ITK's helpers import torch when
// it is importable), and a registration should not stop other Python threads. Python observers
// take the GIL back themselves (itkPyCommand); an exception restores it before it becomes a
// Python one.
//
// Errors reach Python as one line, "Class: what went wrong", never ITK's file and line or a
// LibTorch trace; with SHMOAREG_DEBUG set, the whole text (itk::SHMoARegExceptionText, which each
// .wrap file includes: this file is %import-ed by the submodules after the model's, so code in
// its %{ %} blocks reaches only the model's).
%{
namespace {
struct ShmoaregReleasedGil
{
  PyThreadState * state{ PyEval_SaveThread() };
  ~ShmoaregReleasedGil() { PyEval_RestoreThread(state); }
};
} // namespace
%}

// Every call into the module's classes: one-line errors (in place of ITK's %exception, which
// passes what() through).
%exception {
  try {
    $action
  } catch (const std::out_of_range & e) {
    SWIG_exception_fail(SWIG_IndexError, itk::SHMoARegExceptionText::OneLine(e).c_str());
  } catch (const std::exception & e) {
    SWIG_exception_fail(SWIG_RuntimeError, itk::SHMoARegExceptionText::OneLine(e).c_str());
  }
}

// Update and UpdateLargestPossibleRegion of the module's process objects: ProcessObject's
// wrappers hold the GIL and C++ methods %extend'ed onto the wrapped classes are dropped by
// ITK's generated interfaces, so the classes' Python methods (the .wrap files apply the macro)
// call this function (the model's submodule's copy; each submodule that includes this file has
// its own, static).
%inline %{
static void shmoareg_update_without_gil(itkProcessObject * process, bool largestPossibleRegion)
{
  ShmoaregReleasedGil released;
  if (largestPossibleRegion)
  {
    process->UpdateLargestPossibleRegion();
  }
  else
  {
    process->Update();
  }
}
%}
%define SHMOAREG_UPDATE_WITHOUT_GIL(swig_class)
%extend swig_class {
  %pythoncode %{
    def Update(self):
        """Updates the pipeline with the GIL released (other Python threads run meanwhile)."""
        from itk.itkSHMoARegModelPython import shmoareg_update_without_gil
        shmoareg_update_without_gil(self, False)

    def UpdateLargestPossibleRegion(self):
        """UpdateLargestPossibleRegion with the GIL released."""
        from itk.itkSHMoARegModelPython import shmoareg_update_without_gil
        shmoareg_update_without_gil(self, True)
  %}
}
%enddef

// The model's own long calls.
%define SHMOAREG_CALL_WITHOUT_GIL(method)
%exception method {
  try {
    ShmoaregReleasedGil released;
    $action
  } catch (const std::exception & e) {
    SWIG_exception_fail(SWIG_RuntimeError, itk::SHMoARegExceptionText::OneLine(e).c_str());
  }
}
%enddef
SHMOAREG_CALL_WITHOUT_GIL(itkSHMoARegModel::Predict)
SHMOAREG_CALL_WITHOUT_GIL(itkSHMoARegModel::Refine)
SHMOAREG_CALL_WITHOUT_GIL(itkSHMoARegModel::TrainStep)

%pythoncode %{
def shmoa_registration_filter(*args, **kwargs):
    """Functional form of itk.SHMoARegistrationFilter (the name ITK derives from the class name
    is sh_mo_a_registration_filter):

        field = itk.shmoa_registration_filter(fixed, moving, model_file_name="SHMoAReg.pt")

    returns the displacement field (itk.Image of 3D float vectors, fixed grid, mm). numpy arrays
    in give a numpy array out, torch.Tensors in a torch.Tensor out (on the first tensor's
    device), [z, y, x] for the images and [z, y, x, 3] (x y z components, mm) for the field;
    arrays and tensors carry no spacing or origin: 1 mm voxels at the origin."""
    import itk

    tensor_devices = []

    def from_tensor(value):
        # ITK 5.2.1's helper reads a tensor's first axis as channels (a 3D image became a 2D
        # vector image): tensors go in as numpy arrays here, with numpy's [z, y, x].
        if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
            tensor_devices.append(value.device)
            return value.detach().cpu().numpy()
        return value

    args = [from_tensor(value) for value in args]
    kwargs = {key: from_tensor(value) for key, value in kwargs.items()}
    field = itk.sh_mo_a_registration_filter(*args, **kwargs)
    if not tensor_devices:
        return field
    import numpy as np
    import torch

    return torch.from_numpy(np.ascontiguousarray(field)).to(tensor_devices[0])


def shmoa_registration_filter_init_docstring():
    pass
%}
