/* Symbol visibility for libvenseg. Only functions marked VENSEG_API are exported. */
#ifndef VENSEG_EXPORT_H
#define VENSEG_EXPORT_H

#if defined(VENSEG_STATIC_DEFINE)
#  define VENSEG_API
#elif defined(_WIN32)
#  if defined(VENSEG_BUILDING_LIBRARY)
#    define VENSEG_API __declspec(dllexport)
#  else
#    define VENSEG_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define VENSEG_API __attribute__((visibility("default")))
#else
#  define VENSEG_API
#endif

#endif /* VENSEG_EXPORT_H */
