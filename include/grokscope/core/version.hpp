// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Version of the grokscope headers.

#define GROKSCOPE_VERSION_MAJOR 0
#define GROKSCOPE_VERSION_MINOR 1
#define GROKSCOPE_VERSION_PATCH 0

namespace grokscope {
/// The library version as "major.minor.patch".
inline constexpr const char* version = "0.1.0";
}  // namespace grokscope
