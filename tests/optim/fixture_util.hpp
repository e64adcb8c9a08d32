#pragma once
#include "../nn/fixture_util.hpp"
