// A config message as JSON, for readers outside C++ (the info of exported weights, docs/interop.md).
//
// Contract: message_json() returns a JSON object with every field of the message's type, set or not (unset fields
// carry their declared defaults, unset sub-messages their own fields' defaults), under the .proto's field names:
// numbers as JSON numbers (64-bit integers exactly), enums by name, repeated fields as arrays. No torch.
#pragma once

#include <string>

namespace google {
namespace protobuf {
class Message;
}  // namespace protobuf
}  // namespace google

namespace lockstep {

std::string message_json(const google::protobuf::Message& message);

}  // namespace lockstep
