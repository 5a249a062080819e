// Strict reading of numbers from configuration JSON (network configurations, training
// configurations): nlohmann's get<int>() truncates 2.5 to 2 and is undefined behaviour for a value
// outside the type's range (FuzzNetworkConfig and FuzzTrainingOptions found 2.1e24 and 5e30).
// Each throws std::invalid_argument naming the field.
#ifndef shmoareg_JsonValues_h
#define shmoareg_JsonValues_h

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace shmoareg {

template <typename T>
T
jsonInteger(const nlohmann::json & value, const std::string & field)
{
  const auto refuse = [&] {
    return std::invalid_argument(field + " must be an integer from " + std::to_string(std::numeric_limits<T>::min()) +
                                 " to " + std::to_string(std::numeric_limits<T>::max()) + ", got " + value.dump());
  };
  if (value.is_number_unsigned())
  {
    const auto v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max()))
      throw refuse();
    return static_cast<T>(v);
  }
  if (!value.is_number_integer())
    throw refuse();
  const auto v = value.get<int64_t>();
  if ((std::numeric_limits<T>::is_signed && v < static_cast<int64_t>(std::numeric_limits<T>::min())) ||
      (!std::numeric_limits<T>::is_signed && v < 0) ||
      (v > 0 && static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
    throw refuse();
  return static_cast<T>(v);
}

inline double
jsonNumber(const nlohmann::json & value, const std::string & field)
{
  if (!value.is_number() || !std::isfinite(value.get<double>()))
    throw std::invalid_argument(field + " must be a finite number, got " + value.dump());
  return value.get<double>();
}

template <typename T>
std::vector<T>
jsonIntegerList(const nlohmann::json & value, const std::string & field)
{
  if (!value.is_array())
    throw std::invalid_argument(field + " must be a list of integers, got " + value.dump());
  std::vector<T> list;
  for (const auto & item : value)
    list.push_back(jsonInteger<T>(item, field));
  return list;
}

template <typename T, size_t N>
std::array<T, N>
jsonIntegerArray(const nlohmann::json & value, const std::string & field)
{
  if (!value.is_array() || value.size() != N)
    throw std::invalid_argument(field + " must be " + std::to_string(N) + " integers, got " + value.dump());
  std::array<T, N> array{};
  for (size_t i = 0; i < N; ++i)
    array[i] = jsonInteger<T>(value[i], field);
  return array;
}

template <size_t N>
std::array<double, N>
jsonNumberArray(const nlohmann::json & value, const std::string & field)
{
  if (!value.is_array() || value.size() != N)
    throw std::invalid_argument(field + " must be " + std::to_string(N) + " numbers, got " + value.dump());
  std::array<double, N> array{};
  for (size_t i = 0; i < N; ++i)
    array[i] = jsonNumber(value[i], field);
  return array;
}

} // namespace shmoareg

#endif
