#include "TransformFiles.h"
#include "ImageFiles.h"

#include "itkAffineTransform.h"
#include "itkHDF5TransformIOFactory.h"
#include "itkImageFileReader.h"
#include "itkMatlabTransformIOFactory.h"
#include "itkObjectFactoryBase.h"
#include "itkTransformFactoryBase.h"
#include "itkTransformFileReader.h"
#include "itkTxtTransformIOFactory.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <mutex>
#include <stdexcept>

namespace shmoareg::cli {
namespace {
using RealFieldType = FieldTransformType::DisplacementFieldType;

std::string
lowerCase(std::string text)
{
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool
endsWith(const std::string & text, const std::string & suffix)
{
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// ITK's text transform reader ignores a line with an unknown tag and applies Parameters to the
// last transform it created, which for a composite's own line is undefined behaviour (ITK 5.2
// indexes the composite's empty transform queue; FuzzTransformFile found it with a misspelt
// "Transform" tag). So a .txt/.tfm file is checked first: only comments and the tags ITK writes,
// and parameters only after a transform that takes them.
void
checkTextTransformFile(const std::string & path, const std::string & what)
{
  std::ifstream in(path);
  std::string line, current;
  size_t lineNumber = 0, transforms = 0;
  while (std::getline(in, line))
  {
    ++lineNumber;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#')
      continue;
    const std::string where = "the " + what + " '" + path + "' line " + std::to_string(lineNumber) + ": ";
    const size_t colon = line.find(':');
    std::string tag = colon == std::string::npos ? std::string() : line.substr(first, colon - first);
    tag.erase(tag.find_last_not_of(" \t") + 1);
    if (tag == "Transform")
    {
      const size_t start = line.find_first_not_of(" \t", colon + 1);
      current = start == std::string::npos ? std::string() : line.substr(start);
      ++transforms;
    }
    else if (tag == "Parameters" || tag == "FixedParameters")
    {
      if (current.empty())
        throw std::runtime_error(where + tag + " before any Transform line");
      if (current.rfind("CompositeTransform", 0) == 0)
        throw std::runtime_error(where + tag +
                                 " of a CompositeTransform (its transforms follow it, each with "
                                 "its own Transform line)");
      // ITK's transforms do not all check the count (Euler3DTransform reads past a short list:
      // FuzzTransformFile): every value must be a number and, for a transform of a fixed
      // parameter count, the count must match.
      std::istringstream values(line.substr(colon + 1));
      size_t count = 0;
      for (std::string item; values >> item; ++count)
      {
        char * end = nullptr;
        std::strtod(item.c_str(), &end);
        if (end == item.c_str() || *end != '\0')
          throw std::runtime_error(where + "'" + item + "' in " + tag + " is not a number");
      }
      std::string type = current;
      const size_t precision = type.find("_float_");
      if (precision != std::string::npos)
        type.replace(precision, 7, "_double_");
      const bool variableCount = type.find("BSpline") != std::string::npos ||
                                 type.find("DisplacementField") != std::string::npos ||
                                 type.find("VelocityField") != std::string::npos;
      if (tag == "Parameters" && !variableCount)
      {
        itk::TransformFactoryBase::RegisterDefaultTransforms(); // what ITK's reader does before creating one
        const itk::LightObject::Pointer instance = itk::ObjectFactoryBase::CreateInstance(type.c_str());
        if (instance)
          instance->UnRegister(); // CreateInstance returns one reference too many (ITK's own reader does this too)
        const auto * transform = dynamic_cast<const itk::TransformBaseTemplate<double> *>(instance.GetPointer());
        if (transform && transform->GetNumberOfParameters() != count)
          throw std::runtime_error(where + std::to_string(count) + " parameters for a " + current + ", which has " +
                                   std::to_string(transform->GetNumberOfParameters()));
      }
    }
    else if (tag != "ComponentTransformFile")
      throw std::runtime_error(where + "not a transform file line (ITK's text transforms hold '#' comments and "
                                       "Transform:, Parameters: and FixedParameters: lines)");
  }
  if (transforms == 0)
    throw std::runtime_error("the " + what + " '" + path + "' holds no Transform line: not an ITK transform file");
}

TransformType::Pointer
readTransformFile(const std::string & path, const std::string & what)
{
  registerTransformIO();
  const std::string lower = lowerCase(path);
  if (endsWith(lower, ".txt") || endsWith(lower, ".tfm"))
    checkTextTransformFile(path, what);
  auto reader = itk::TransformFileReaderTemplate<double>::New();
  reader->SetFileName(path);
  try
  {
    reader->Update();
  }
  catch (const itk::ExceptionObject & error)
  {
    // ITK names an unknown type and then lists every type it knows: say only the first part.
    const std::string description = error.GetDescription();
    const size_t quote = description.find("Could not create an instance of \"");
    if (quote != std::string::npos)
    {
      const size_t start = quote + std::string("Could not create an instance of \"").size();
      throw std::runtime_error("the " + what + " '" + path + "' holds the transform type '" +
                               description.substr(start, description.find('"', start) - start) +
                               "', which ITK does not know (ITK's transform types end in _double_3_3, e.g. "
                               "AffineTransform_double_3_3)");
    }
    throw std::runtime_error("cannot read the " + what + " '" + path + "': " + training::firstLine(description));
  }
  catch (const std::exception & error)
  {
    // ITK's text reader parses the type name with string operations that throw on a name
    // without the _<precision>_<in>_<out> suffix.
    std::string type;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("Transform:", 0) == 0)
      {
        type = line.substr(line.find_first_not_of(" \t", 10));
        break;
      }
    throw std::runtime_error("the " + what + " '" + path + "' is not a transform file ITK reads" +
                             (type.empty() ? std::string(" (") + error.what() + ")"
                                           : ": the transform type '" + type +
                                               "' is unknown (ITK's types read like "
                                               "AffineTransform_double_3_3)"));
  }
  const auto * list = reader->GetTransformList();
  if (list->empty())
    throw std::runtime_error("the " + what + " '" + path + "' holds no transform");
  if (list->size() > 1)
    throw std::runtime_error("the " + what + " '" + path + "' holds " + std::to_string(list->size()) +
                             " separate transforms; give one (or a composite transform)");
  const auto & transform = list->front();
  auto * typed = dynamic_cast<TransformType *>(transform.GetPointer());
  if (typed == nullptr)
    throw std::runtime_error("the " + what + " '" + path + "' is a " + transform->GetNameOfClass() + " of " +
                             std::to_string(transform->GetInputSpaceDimension()) + " -> " +
                             std::to_string(transform->GetOutputSpaceDimension()) +
                             " dimensions; a 3D transform (3 -> 3, double) is needed");
  return typed;
}

TransformType::Pointer
readFieldImage(const std::string & path, const std::string & what)
{
  checkDisplacementFieldFile(path, what);
  auto transform = FieldTransformType::New();
  transform->SetDisplacementField(training::readImageFile<RealFieldType>(path, what, 3));
  return transform;
}
} // namespace

void
checkDisplacementFieldFile(const std::string & path, const std::string & what)
{
  training::checkImageFile(path, what, 3);
}

void
registerTransformIO()
{
  static std::once_flag once;
  std::call_once(once, [] {
    itk::HDF5TransformIOFactory::RegisterOneFactory();
    itk::MatlabTransformIOFactory::RegisterOneFactory();
    itk::TxtTransformIOFactory::RegisterOneFactory();
  });
}

bool
isTransformFileName(const std::string & path)
{
  const std::string name = lowerCase(path);
  for (const char * extension : { ".h5", ".hdf5", ".mat", ".txt", ".tfm", ".xfm" })
    if (endsWith(name, extension))
      return true;
  return false;
}

TransformType::Pointer
readTransform(const std::string & spec, const std::string & what)
{
  // ANTs' "[file,1]": the inverse of a linear transform.
  std::string path = spec;
  bool invert = false;
  if (spec.size() > 2 && spec.front() == '[' && spec.back() == ']')
  {
    const size_t comma = spec.rfind(',');
    if (comma == std::string::npos)
      throw std::runtime_error("the " + what + " '" + spec + "': expected [file,0] or [file,1]");
    path = spec.substr(1, comma - 1);
    const std::string flag = spec.substr(comma + 1, spec.size() - comma - 2);
    if (flag != "0" && flag != "1")
      throw std::runtime_error("the " + what + " '" + spec + "': the flag after the comma must be 0 or 1");
    invert = flag == "1";
  }
  TransformType::Pointer transform =
    isTransformFileName(path) ? readTransformFile(path, what) : readFieldImage(path, what);
  if (!invert)
    return transform;
  const LinearTransformType * linear = asLinearTransform(transform);
  if (linear == nullptr)
    throw std::runtime_error("the " + what + " '" + path +
                             "' cannot be inverted here: only linear transforms are (for a field, use the inverse "
                             "field that register writes)");
  auto inverse = linear->GetInverseTransform();
  if (!inverse)
    throw std::runtime_error("the " + what + " '" + path + "' is not invertible (singular matrix)");
  return dynamic_cast<TransformType *>(inverse.GetPointer());
}

CompositeTransformType::Pointer
readTransformStack(const std::vector<std::string> & paths, const std::string & what)
{
  auto composite = CompositeTransformType::New();
  // CompositeTransform applies the last added first: add the last listed first.
  for (auto path = paths.rbegin(); path != paths.rend(); ++path)
    composite->AddTransform(readTransform(*path, what));
  return composite;
}

const LinearTransformType *
asLinearTransform(const TransformType * transform)
{
  if (const auto * composite = dynamic_cast<const CompositeTransformType *>(transform))
    return composite->GetNumberOfTransforms() == 1 ? asLinearTransform(composite->GetNthTransformConstPointer(0))
                                                   : nullptr;
  return dynamic_cast<const LinearTransformType *>(transform);
}

LinearTransformType::Pointer
toAffineTransform(const LinearTransformType * linear)
{
  auto affine = itk::AffineTransform<double, 3>::New();
  affine->SetCenter(linear->GetCenter());
  affine->SetMatrix(linear->GetMatrix());
  affine->SetTranslation(linear->GetTranslation());
  return affine.GetPointer();
}

} // namespace shmoareg::cli
