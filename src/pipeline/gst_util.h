// Private helpers of the pipeline module: GStreamer initialisation, element
// creation, files and hashes. Not part of the module's interface.
#pragma once

#include <gst/gst.h>

#include <string>
#include <string_view>

#include "vodd/core/result.h"
#include "vodd/pipeline/bmff.h"

namespace vodd::pipeline {

// gst_init_check once per process. Errors: kInternal.
Status EnsureGstInit();

// Creates an element and adds it to `bin`, which then owns it; the returned
// pointer is borrowed. Errors: kUnsupported naming the missing element.
Result<GstElement*> AddElement(GstBin* bin, const char* factory,
                               const char* name = nullptr);

// Links a chain of elements. Errors: kInternal naming the pair.
Status LinkChain(std::initializer_list<GstElement*> chain);

// An ERROR message as kMedia "PREFIX: message"; the element and the debug
// detail go to the log (warn).
Error ErrorFromBus(GstMessage* msg, std::string_view prefix);

// Writes `data` to a new file at `path` (truncating). Errors: kIo, kNoSpace.
Status WriteWholeFile(const std::string& path, bmff::ByteView data);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(bmff::ByteView data);

}  // namespace vodd::pipeline
