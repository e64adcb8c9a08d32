// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The doctest main shared by every test executable.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
