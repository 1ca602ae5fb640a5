// structured_fields.hpp — RFC 9651 (which obsoletes RFC 8941) Structured
// Field Values: the data model, strict parsing and canonical serialization.
//
// RFC 9421 builds every signature header on these: Signature-Input and
// Signature are Dictionaries, a covered-components list is an Inner List,
// `;sf` and `;key` re-serialize a field canonically. The parser follows the
// RFC's parsing algorithms (Section 4.2) exactly and fails the whole field
// on the first error, with one deliberate tightening: a Byte Sequence must be
// canonical base64 with padding (RFC 9651 only says parsers SHOULD NOT fail
// on missing padding); a signature or digest in any other form is refused.
//
//   auto dict = sf::parse_dictionary("sig1=:AAA=:;x=1, sig2=?0");
//   if (!dict) return dict.error();
//   std::string canonical = sf::serialize(dict.value());
#ifndef UPSTREAM_JWT_STRUCTURED_FIELDS_HPP
#define UPSTREAM_JWT_STRUCTURED_FIELDS_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "upstream_jwt/result.hpp"

namespace upstream_jwt::sf {

// Integers and Dates: |v| <= 999,999,999,999,999 (15 digits).
inline constexpr std::int64_t kMaxInteger = 999999999999999;
// Decimals are kept exactly, in thousandths: at most 12 integer digits.
inline constexpr std::int64_t kMaxDecimalMilli = 999999999999999;

enum class Type { integer, decimal, string, token, byte_sequence, boolean, date, display_string };

struct BareItem {
  Type type = Type::boolean;
  // integer and date: the value; decimal: the value * 1000; boolean: 0 or 1.
  std::int64_t number = 1;
  // string, token: the characters; byte_sequence: the decoded bytes;
  // display_string: UTF-8.
  std::string text;

  static BareItem integer(std::int64_t v) { return {Type::integer, v, {}}; }
  static BareItem decimal_milli(std::int64_t v) { return {Type::decimal, v, {}}; }
  static BareItem string(std::string s) { return {Type::string, 0, std::move(s)}; }
  static BareItem token(std::string s) { return {Type::token, 0, std::move(s)}; }
  static BareItem bytes(std::string b) { return {Type::byte_sequence, 0, std::move(b)}; }
  static BareItem boolean(bool b) { return {Type::boolean, b ? 1 : 0, {}}; }
  static BareItem date(std::int64_t v) { return {Type::date, v, {}}; }
  static BareItem display(std::string utf8) { return {Type::display_string, 0, std::move(utf8)}; }

  bool is_true() const noexcept { return type == Type::boolean && number == 1; }
  friend bool operator==(const BareItem& a, const BareItem& b) {
    return a.type == b.type && a.number == b.number && a.text == b.text;
  }
};

// Ordered; keys unique (a repeated key overwrites in place, as the RFC says).
using Parameters = std::vector<std::pair<std::string, BareItem>>;

struct Item {
  BareItem value;
  Parameters params;
  const BareItem* param(std::string_view key) const noexcept;
};

struct InnerList {
  std::vector<Item> items;
  Parameters params;
  const BareItem* param(std::string_view key) const noexcept;
};

using Member = std::variant<Item, InnerList>;
using List = std::vector<Member>;
// Ordered; keys unique (a repeated key overwrites in place).
using Dictionary = std::vector<std::pair<std::string, Member>>;

// Parsers for a whole field value. Errors are Status::invalid_argument with
// a message naming the offset and what was expected.
Result<List> parse_list(std::string_view field);
Result<Dictionary> parse_dictionary(std::string_view field);

// What a parser does with a key repeated within one set of Parameters.
// RFC 9651 keeps the first position and the last value (`last_wins`, what
// every other parser here does). `refuse` fails the field instead: RFC 9421
// verifiers parse Signature-Input this way, because a serializer never writes
// a parameter twice, so a repeated one is a broken or edited serialization
// that a parser keeping the first value would read as another signature.
// Repeated Dictionary keys still follow RFC 9651 (the field lines of several
// intermediaries combine into one Dictionary).
enum class RepeatedParameter { last_wins, refuse };
Result<Dictionary> parse_dictionary(std::string_view field, RepeatedParameter repeated);
Result<Item> parse_item(std::string_view field);
// One Inner List and its parameters, e.g. `("@method" "@path");created=1`,
// with nothing around it: the form of RFC 9421's @signature-params value.
Result<InnerList> parse_inner_list(std::string_view text);

// Serialization (RFC 9651 Section 4.1). Fails only on values the format
// cannot carry: an integer out of range, a string with a non-printable
// character, a malformed key or token, a display string that is not UTF-8.
Result<std::string> serialize(const List& list);
Result<std::string> serialize(const Dictionary& dict);
Result<std::string> serialize(const Item& item);
Result<std::string> serialize(const InnerList& list);
Result<std::string> serialize(const Member& member);
Result<void> serialize_to(const BareItem& bare, std::string& out);
Result<void> serialize_params_to(const Parameters& params, std::string& out);

const Member* find(const Dictionary& dict, std::string_view key) noexcept;

bool is_valid_key(std::string_view key) noexcept;
bool is_valid_token(std::string_view token) noexcept;

// RFC 4648 Section 4 base64 with padding, as Byte Sequences carry it.
std::string base64_encode(std::string_view bytes);
// Strict: padding required, no characters outside the alphabet, zero pad
// bits. nullopt on any violation.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace upstream_jwt::sf

#endif  // UPSTREAM_JWT_STRUCTURED_FIELDS_HPP
