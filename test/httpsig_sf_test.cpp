// RFC 9651 structured fields: canonical round trips and every parse failure
// class, at the exact boundaries the RFC sets.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "upstream_jwt/structured_fields.hpp"

namespace sf = upstream_jwt::sf;

namespace {

// Parses as `kind` and re-serializes; "FAIL" when parsing fails.
std::string canon(const std::string& kind, const std::string& in) {
  upstream_jwt::Result<std::string> out = std::string();
  if (kind == "list") {
    auto v = sf::parse_list(in);
    if (!v) return "FAIL";
    out = sf::serialize(v.value());
  } else if (kind == "dict") {
    auto v = sf::parse_dictionary(in);
    if (!v) return "FAIL";
    out = sf::serialize(v.value());
  } else {
    auto v = sf::parse_item(in);
    if (!v) return "FAIL";
    out = sf::serialize(v.value());
  }
  return out.ok() ? out.value() : "SERIALIZE-FAIL";
}

}  // namespace

TEST(StructuredFields, Items) {
  EXPECT_EQ(canon("item", "42"), "42");
  EXPECT_EQ(canon("item", "-42"), "-42");
  EXPECT_EQ(canon("item", "0042"), "42");
  EXPECT_EQ(canon("item", "999999999999999"), "999999999999999");
  EXPECT_EQ(canon("item", "-999999999999999"), "-999999999999999");
  EXPECT_EQ(canon("item", "9999999999999999"), "FAIL");  // 16 digits
  EXPECT_EQ(canon("item", "1.5"), "1.5");
  EXPECT_EQ(canon("item", "1.500"), "1.5");
  EXPECT_EQ(canon("item", "-0.001"), "-0.001");
  EXPECT_EQ(canon("item", "123456789012.123"), "123456789012.123");
  EXPECT_EQ(canon("item", "1234567890123.1"), "FAIL");  // 13 integer digits
  EXPECT_EQ(canon("item", "1.1234"), "FAIL");           // 4 fractional digits
  EXPECT_EQ(canon("item", "1."), "FAIL");
  EXPECT_EQ(canon("item", "-"), "FAIL");
  EXPECT_EQ(canon("item", "-a"), "FAIL");
  EXPECT_EQ(canon("item", "\"hello \\\"w\\\\\""), "\"hello \\\"w\\\\\"");
  EXPECT_EQ(canon("item", "\"bad \\n escape\""), "FAIL");
  EXPECT_EQ(canon("item", "\"tab\there\""), "FAIL");
  EXPECT_EQ(canon("item", "\"unterminated"), "FAIL");
  EXPECT_EQ(canon("item", "\"non-ascii \xC3\xA9\""), "FAIL");
  EXPECT_EQ(canon("item", "foo123/456:bar*"), "foo123/456:bar*");
  EXPECT_EQ(canon("item", "*tok"), "*tok");
  EXPECT_EQ(canon("item", ":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:"),
            ":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:");
  EXPECT_EQ(canon("item", "::"), "::");
  EXPECT_EQ(canon("item", ":cHJldGVuZA:"), "FAIL");     // padding missing
  EXPECT_EQ(canon("item", ":cHJldGVuZB==:"), "FAIL");   // non-zero pad bits
  EXPECT_EQ(canon("item", ":cHJl_GVuZA==:"), "FAIL");   // base64url alphabet
  EXPECT_EQ(canon("item", ":cHJldGVuZA=="), "FAIL");    // unterminated
  EXPECT_EQ(canon("item", ":cHJl=GVuZA==:"), "FAIL");   // '=' inside
  EXPECT_EQ(canon("item", "?1"), "?1");
  EXPECT_EQ(canon("item", "?0"), "?0");
  EXPECT_EQ(canon("item", "?2"), "FAIL");
  EXPECT_EQ(canon("item", "@1659578233"), "@1659578233");
  EXPECT_EQ(canon("item", "@-1"), "@-1");
  EXPECT_EQ(canon("item", "@1.5"), "FAIL");
  EXPECT_EQ(canon("item", "%\"f%c3%bc%c3%bc\""), "%\"f%c3%bc%c3%bc\"");
  EXPECT_EQ(canon("item", "%\"f%C3%BC\""), "FAIL");  // uppercase hex
  EXPECT_EQ(canon("item", "%\"%c3\""), "FAIL");      // not UTF-8
  EXPECT_EQ(canon("item", "%\"%ed%a0%80\""), "FAIL");  // surrogate
  EXPECT_EQ(canon("item", "%\"%c0%af\""), "FAIL");     // overlong
  EXPECT_EQ(canon("item", "%x"), "FAIL");
  EXPECT_EQ(canon("item", "  42  "), "42");
  EXPECT_EQ(canon("item", "42 43"), "FAIL");
  EXPECT_EQ(canon("item", "\t42"), "FAIL");  // only SP is stripped around a field
  EXPECT_EQ(canon("item", ""), "FAIL");
  EXPECT_EQ(canon("item", "42;a;b=?0;c=\"x\";a=2"), "42;a=2;b=?0;c=\"x\"");
  EXPECT_EQ(canon("item", "42; a"), "42;a");
  EXPECT_EQ(canon("item", "42;A"), "FAIL");
  EXPECT_EQ(canon("item", "42;"), "FAIL");
  EXPECT_EQ(canon("item", "&"), "FAIL");
}

TEST(StructuredFields, Lists) {
  EXPECT_EQ(canon("list", ""), "");
  EXPECT_EQ(canon("list", "a,b ,\tc"), "a, b, c");
  EXPECT_EQ(canon("list", "(a   b);x, ( ), ()"), "(a b);x, (), ()");
  EXPECT_EQ(canon("list", "(\"@method\" \"@path\");created=1"), "(\"@method\" \"@path\");created=1");
  EXPECT_EQ(canon("list", "a,"), "FAIL");
  EXPECT_EQ(canon("list", ",a"), "FAIL");
  EXPECT_EQ(canon("list", "a b"), "FAIL");
  EXPECT_EQ(canon("list", "(a b"), "FAIL");
  EXPECT_EQ(canon("list", "(a,b)"), "FAIL");
  EXPECT_EQ(canon("list", "(a)(b)"), "FAIL");
}

TEST(StructuredFields, Dictionaries) {
  EXPECT_EQ(canon("dict", "a=1,    b=2;x=1;y=2,   c=(a   b   c), d"), "a=1, b=2;x=1;y=2, c=(a b c), d");
  EXPECT_EQ(canon("dict", "a=?1, b;x"), "a, b;x");
  EXPECT_EQ(canon("dict", "a=1, b=2, a=3"), "a=3, b=2");  // overwrite in place
  EXPECT_EQ(canon("dict", "a;x=1;x=2"), "a;x=2");
  // Signature-Input's parse: a repeated parameter fails at any level, a repeated key does not.
  const auto refuse = sf::RepeatedParameter::refuse;
  for (const char* t : {"a;x=1;x=2", "a=(\"b\";p;p)", "a=(\"b\");p=1;q;p=1", "z=1, a=(1 2);k=?0;k=?0"}) {
    EXPECT_TRUE(sf::parse_dictionary(t).ok()) << t;
    EXPECT_FALSE(sf::parse_dictionary(t, refuse).ok()) << t;
  }
  auto kept = sf::parse_dictionary("a=1;x=1, a=(\"b\";x);x=2", refuse);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(sf::serialize(kept.value()).value(), "a=(\"b\";x);x=2");
  EXPECT_TRUE(sf::parse_dictionary("a=1;x=1, a=(\"b\";x);x=2", sf::RepeatedParameter::last_wins).ok());
  EXPECT_EQ(canon("dict", "A=1"), "FAIL");
  EXPECT_EQ(canon("dict", "1a=1"), "FAIL");
  EXPECT_EQ(canon("dict", "a=1,"), "FAIL");
  EXPECT_EQ(canon("dict", "a=1 b=2"), "FAIL");
  EXPECT_EQ(canon("dict", "a="), "FAIL");
  EXPECT_EQ(canon("dict", "sig1=:AAA=:"), "sig1=:AAA=:");
  auto d = sf::parse_dictionary("sig-b21=();created=1618884473;keyid=\"k\"");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 1u);
  const auto* il = std::get_if<sf::InnerList>(&d->front().second);
  ASSERT_NE(il, nullptr);
  EXPECT_TRUE(il->items.empty());
  ASSERT_NE(il->param("keyid"), nullptr);
  EXPECT_EQ(il->param("keyid")->text, "k");
  EXPECT_EQ(il->param("created")->number, 1618884473);
}

TEST(StructuredFields, SerializerRefusesWhatAFieldCannotCarry) {
  EXPECT_FALSE(sf::serialize(sf::Item{sf::BareItem::integer(sf::kMaxInteger + 1), {}}).ok());
  EXPECT_FALSE(sf::serialize(sf::Item{sf::BareItem::string("line\nbreak"), {}}).ok());
  EXPECT_FALSE(sf::serialize(sf::Item{sf::BareItem::token("1abc"), {}}).ok());
  EXPECT_FALSE(sf::serialize(sf::Item{sf::BareItem::display("\xff"), {}}).ok());
  EXPECT_FALSE(sf::serialize(sf::Item{sf::BareItem::integer(1), {{"Bad", sf::BareItem::boolean(true)}}}).ok());
  sf::Dictionary d{{"", sf::Member(sf::Item{sf::BareItem::integer(1), {}})}};
  EXPECT_FALSE(sf::serialize(d).ok());
  EXPECT_EQ(sf::serialize(sf::Item{sf::BareItem::display("a\"%\xc3\xbc"), {}}).value(), "%\"a%22%25%c3%bc\"");
  EXPECT_EQ(sf::serialize(sf::Item{sf::BareItem::decimal_milli(-1500), {}}).value(), "-1.5");
  EXPECT_EQ(sf::serialize(sf::Item{sf::BareItem::decimal_milli(2000), {}}).value(), "2.0");
}

TEST(StructuredFields, Base64) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)}) {
    auto back = sf::base64_decode(sf::base64_encode(s));
    ASSERT_TRUE(back.has_value()) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(sf::base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(sf::base64_decode("Zm9vYmF").has_value());
  EXPECT_FALSE(sf::base64_decode("Zm9=YmFy").has_value());
  EXPECT_FALSE(sf::base64_decode("Zg==Zg==").has_value());
  EXPECT_FALSE(sf::base64_decode("Z===").has_value());
  EXPECT_FALSE(sf::base64_decode("Zh==").has_value());
}
