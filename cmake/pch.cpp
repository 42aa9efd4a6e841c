// The target that builds cmake/pch.hpp; see p2p_use_pch in cmake/p2p.cmake.
