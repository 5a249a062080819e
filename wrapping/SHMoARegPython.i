// Added to the SHMoAReg wrapping (included in each of its submodules).

// The module's long calls run with the GIL released: LibTorch's autograd refuses to run in a
// thread that holds it once PyTorch's Python module is loaded (ITK's helpers import torch when
// it is importable), and a registration should not stop other Python threads. Python observers
// take the GIL back themselves (itkPyCommand); an exception restores it before ITK's %exception
// turns it into a Python one.
%{
namespace {
struct ShmoaregReleasedGil
{
  PyThreadState * state{ PyEval_SaveThread() };
  ~ShmoaregReleasedGil() { PyEval_RestoreThread(state); }
};
} // namespace
%}

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
    SWIG_exception_fail(SWIG_RuntimeError, e.what());
  }
}
%enddef
SHMOAREG_CALL_WITHOUT_GIL(itkSHMoARegModel::Predict)
SHMOAREG_CALL_WITHOUT_GIL(itkSHMoARegModel::Refine)

%pythoncode %{
def shmoa_registration_filter(*args, **kwargs):
    """Functional form of itk.SHMoARegistrationFilter (the name ITK derives from the class name
    is sh_mo_a_registration_filter; both work):

        field = itk.shmoa_registration_filter(fixed, moving, model_file_name="SHMoAReg.pt")

    returns the displacement field (itk.Image of 3D float vectors, fixed grid, mm)."""
    import itk

    return itk.sh_mo_a_registration_filter(*args, **kwargs)


def shmoa_registration_filter_init_docstring():
    pass
%}
