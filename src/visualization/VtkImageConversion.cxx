#include "VtkImageConversion.h"

#include <vtkFloatArray.h>
#include <vtkMatrix3x3.h>
#include <vtkPointData.h>
#include <vtkXMLImageDataReader.h>
#include <vtkXMLImageDataWriter.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace shmoareg::visualization {

namespace {
vtkSmartPointer<vtkImageData>
geometryOf(const itk::ImageBase<3> * image)
{
  auto data = vtkSmartPointer<vtkImageData>::New();
  const auto size = image->GetLargestPossibleRegion().GetSize();
  data->SetDimensions(static_cast<int>(size[0]), static_cast<int>(size[1]), static_cast<int>(size[2]));
  data->SetSpacing(image->GetSpacing()[0], image->GetSpacing()[1], image->GetSpacing()[2]);
  // The physical point of index 0 (the largest region may not start at 0).
  itk::Point<double, 3> first;
  image->TransformIndexToPhysicalPoint(image->GetLargestPossibleRegion().GetIndex(), first);
  data->SetOrigin(first[0], first[1], first[2]);
  double direction[9];
  for (unsigned r = 0; r < 3; ++r)
    for (unsigned c = 0; c < 3; ++c)
      direction[3 * r + c] = image->GetDirection()(r, c);
  data->SetDirectionMatrix(direction);
  return data;
}
} // namespace

template <typename TPixel>
vtkSmartPointer<vtkImageData>
toVtkImageData(const itk::Image<TPixel, 3> * image, const std::string & name)
{
  auto data = geometryOf(image);
  auto values = vtkSmartPointer<vtkFloatArray>::New();
  values->SetName(name.c_str());
  const size_t n = image->GetLargestPossibleRegion().GetNumberOfPixels();
  values->SetNumberOfTuples(static_cast<vtkIdType>(n));
  const TPixel * buffer = image->GetBufferPointer();
  for (size_t i = 0; i < n; ++i)
    values->SetValue(static_cast<vtkIdType>(i), static_cast<float>(buffer[i]));
  data->GetPointData()->SetScalars(values);
  return data;
}

template vtkSmartPointer<vtkImageData>
toVtkImageData<float>(const itk::Image<float, 3> *, const std::string &);
template vtkSmartPointer<vtkImageData>
toVtkImageData<unsigned char>(const itk::Image<unsigned char, 3> *, const std::string &);
template vtkSmartPointer<vtkImageData>
toVtkImageData<unsigned short>(const itk::Image<unsigned short, 3> *, const std::string &);

vtkSmartPointer<vtkImageData>
toVtkImageData(const itk::Image<itk::Vector<float, 3>, 3> * field, const std::string & name)
{
  auto data = geometryOf(field);
  auto vectors = vtkSmartPointer<vtkFloatArray>::New();
  vectors->SetName(name.c_str());
  vectors->SetNumberOfComponents(3);
  const size_t n = field->GetLargestPossibleRegion().GetNumberOfPixels();
  vectors->SetNumberOfTuples(static_cast<vtkIdType>(n));
  const float * buffer = reinterpret_cast<const float *>(field->GetBufferPointer());
  std::copy_n(buffer, 3 * n, vectors->GetPointer(0));
  data->GetPointData()->SetVectors(vectors);
  return data;
}

void
writeVti(vtkImageData * image, const std::string & path)
{
  const std::string temporary = path + ".partial.vti";
  auto writer = vtkSmartPointer<vtkXMLImageDataWriter>::New();
  writer->SetFileName(temporary.c_str());
  writer->SetInputData(image);
  writer->SetCompressorTypeToZLib();
  writer->SetDataModeToAppended();
  if (writer->Write() != 1)
  {
    std::remove(temporary.c_str());
    throw std::runtime_error("cannot write '" + path + "'");
  }
  std::filesystem::rename(temporary, path);
}

vtkSmartPointer<vtkImageData>
readVti(const std::string & path)
{
  if (!std::filesystem::exists(path))
    throw std::runtime_error("'" + path + "' does not exist");
  auto reader = vtkSmartPointer<vtkXMLImageDataReader>::New();
  reader->SetFileName(path.c_str());
  reader->Update();
  return reader->GetOutput();
}

} // namespace shmoareg::visualization
