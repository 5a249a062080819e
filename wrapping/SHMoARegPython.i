// Python code added to the SHMoAReg wrapping (included in each of its submodules).
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
