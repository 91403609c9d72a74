#include "format/output_file.h"

namespace agenttrace {

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  AT_ASSIGN_OR_RETURN(std::unique_ptr<OutputFile> out, OutputFile::Open(path));
  out->buffer()->append(data);
  return out->Commit();
}

}  // namespace agenttrace
