// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Build mode: header-only (the default) or compiled (`grokscope::compiled`).
///
/// Header-only: every definition is in the headers; non-template functions are `inline`, and those
/// whose bodies are costly to instantiate are deferred (`GROKSCOPE_DEFERRED`, below).
/// Compiled: `GROKSCOPE_COMPILED` is defined (the `grokscope::compiled` CMake target sets it for
/// its users), the non-template definitions live in the library, the headers only declare them,
/// and the float and double instantiations of the class and function templates are declared
/// `extern template`, so a user's translation unit neither re-instantiates nor re-optimises them.
/// Other scalar types still instantiate from the headers in both modes. The `<area>/detail/*-inl.hpp` headers are
/// for header-only mode and for the library's own sources (`GROKSCOPE_BUILDING_LIBRARY`): included
/// by a user in compiled mode they stop with an error instead of defining everything twice.

#if defined(GROKSCOPE_COMPILED)
#define GROKSCOPE_HEADER_ONLY 0
/// Linkage of the library's non-template functions: defined once, in the compiled library.
#define GROKSCOPE_INLINE
#define GROKSCOPE_DEFERRED
#define GROKSCOPE_DEFERRED_DEF
#else
#define GROKSCOPE_HEADER_ONLY 1
#define GROKSCOPE_INLINE inline
/// `GROKSCOPE_DEFERRED` (on the declaration) and `GROKSCOPE_DEFERRED_DEF` (on the definition in
/// the -inl header) mark a non-template function whose body instantiates costly templates (Eigen's
/// decompositions and products, the CKA and NTK kernels). Header-only, such a function is a
/// template with one defaulted parameter, `template <typename = void> inline`: calls are written
/// and resolved as before (the parameter types do not depend on it), but the body, and whatever it
/// instantiates, is compiled only in a translation unit that calls the function (a non-dependent
/// call in an uninstantiated template instantiates nothing), instead of in every translation
/// unit that includes the header. Compiled, it is an ordinary function of the library. A helper
/// without a separate declaration takes `GROKSCOPE_DEFERRED` alone.
#define GROKSCOPE_DEFERRED   \
  template <typename = void> \
  inline
#define GROKSCOPE_DEFERRED_DEF \
  template <typename>          \
  inline
#endif

/// `GROKSCOPE_EXTERN_CLASS(Tmpl)`: declares the float and double instantiations of a class
/// template as provided by the compiled library (nothing in header-only mode).
#if defined(GROKSCOPE_COMPILED)
#define GROKSCOPE_EXTERN_CLASS(Tmpl) \
  extern template class Tmpl<float>; \
  extern template class Tmpl<double>;
#define GROKSCOPE_EXTERN_STRUCT(Tmpl) \
  extern template struct Tmpl<float>; \
  extern template struct Tmpl<double>;
#else
#define GROKSCOPE_EXTERN_CLASS(Tmpl)
#define GROKSCOPE_EXTERN_STRUCT(Tmpl)
#endif

/// `GROKSCOPE_INSTANTIATE_CLASS(Tmpl)`: the matching explicit instantiation definitions, used by
/// the compiled library's sources only.
#define GROKSCOPE_INSTANTIATE_CLASS(Tmpl) \
  template class Tmpl<float>;             \
  template class Tmpl<double>;
#define GROKSCOPE_INSTANTIATE_STRUCT(Tmpl) \
  template struct Tmpl<float>;             \
  template struct Tmpl<double>;
