/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         http://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
#ifndef itkSHMoARegImageIO_h
#define itkSHMoARegImageIO_h

#include "itkMetaImageIOFactory.h"
#include "itkNiftiImageIOFactory.h"
#include "itkNrrdImageIOFactory.h"

namespace itk {

/** Registers the image formats the module's programs read and write (NIfTI, MetaImage, NRRD)
 * with ITK's IO factory, so that programs built without ITK's automatic factory registration
 * (the ITK module build, or plain CMake without ITK_USE_FILE) read them too. Registering twice
 * is harmless.
 * \ingroup SHMoAReg */
inline void
SHMoARegRegisterImageIO()
{
  NiftiImageIOFactory::RegisterOneFactory();
  MetaImageIOFactory::RegisterOneFactory();
  NrrdImageIOFactory::RegisterOneFactory();
}

} // namespace itk

#endif
