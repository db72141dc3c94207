// Maven version ordering: maven-artifact's ComparableVersion (3.8).
//
// A version is a list of items: numbers, qualifiers and sub-lists. '.'
// separates items, '-' (and a switch between digits and letters) starts a
// sub-list. Trailing "null" items (0, "", ga, final, release, empty lists)
// are dropped, so 1 = 1.0 = 1-0 = 1.ga. Known qualifiers order as
//   alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp
// and unknown ones come after them, alphabetically.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "scanner/versions/chars.h"
#include "scanner/versions/versions.h"

namespace portcullis::scanner::versions {

namespace {

using detail::is_digit;

struct Item {
  enum Kind { kNumber, kQualifier, kList };
  Kind kind = kList;
  std::string text;         // kNumber: digits without leading zeros; kQualifier: the name
  std::vector<Item> items;  // kList

  static Item number(std::string_view digits) {
    while (!digits.empty() && digits.front() == '0') digits.remove_prefix(1);
    return Item{kNumber, std::string(digits), {}};
  }

  bool is_null() const {
    switch (kind) {
      case kNumber:
        return text.empty();
      case kQualifier:
        return text.empty();
      default:
        return items.empty();
    }
  }
};

// "a1" is alpha-1, "b1" beta-1, "m1" milestone-1: only when a digit follows.
Item qualifier(std::string_view name, bool followed_by_digit) {
  if (followed_by_digit && name.size() == 1) {
    if (name == "a") name = "alpha";
    if (name == "b") name = "beta";
    if (name == "m") name = "milestone";
  }
  if (name == "ga" || name == "final" || name == "release") name = "";
  if (name == "cr") name = "rc";
  return Item{Item::kQualifier, std::string(name), {}};
}

Item parse_item(bool digits, std::string_view text) {
  return digits ? Item::number(text) : qualifier(text, false);
}

// Removes trailing null items, looking through non-null sub-lists.
void normalize(std::vector<Item>& list) {
  for (std::size_t i = list.size(); i-- > 0;) {
    if (list[i].is_null()) {
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (list[i].kind != Item::kList) {
      break;
    }
  }
}

Item parse(std::string_view version) {
  std::string v(version);
  for (char& c : v) c = detail::to_lower(c);

  Item root;
  // The open lists, outermost first. A new list is always appended to the
  // innermost one and nothing is appended to the outer ones afterwards, so
  // these pointers stay valid.
  std::vector<Item*> stack{&root};
  auto open_list = [&stack]() {
    stack.back()->items.push_back(Item{});
    stack.push_back(&stack.back()->items.back());
  };
  auto add = [&stack](Item item) { stack.back()->items.push_back(std::move(item)); };

  bool in_digits = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '.' || c == '-') {
      if (i == start) {
        add(Item::number("0"));
      } else {
        add(parse_item(in_digits, std::string_view(v).substr(start, i - start)));
      }
      start = i + 1;
      if (c == '-') open_list();
    } else if (is_digit(c)) {
      if (!in_digits && i > start) {
        if (!stack.back()->items.empty()) open_list();
        add(qualifier(std::string_view(v).substr(start, i - start), true));
        start = i;
        open_list();
      }
      in_digits = true;
    } else {
      if (in_digits && i > start) {
        add(parse_item(true, std::string_view(v).substr(start, i - start)));
        start = i;
        open_list();
      }
      in_digits = false;
    }
  }
  if (v.size() > start) {
    // A trailing qualifier gets a list of its own: 1.0.0.x1 < 1.0.0-x2.
    if (!in_digits && !stack.back()->items.empty()) open_list();
    add(parse_item(in_digits, std::string_view(v).substr(start)));
  }

  for (std::size_t i = stack.size(); i-- > 0;) normalize(stack[i]->items);
  return root;
}

// Known qualifiers by rank, unknown ones after them as "7-name"; compared as
// strings, as ComparableVersion does.
std::string comparable_qualifier(const std::string& name) {
  static constexpr std::array<std::string_view, 7> kQualifiers{
      "alpha", "beta", "milestone", "rc", "snapshot", "", "sp"};
  for (std::size_t i = 0; i < kQualifiers.size(); ++i) {
    if (name == kQualifiers[i]) return std::to_string(i);
  }
  return std::to_string(kQualifiers.size()) + "-" + name;
}

// a compared with b; b == nullptr stands for a missing item (the end of a
// shorter list).
int compare_items(const Item& a, const Item* b) {
  switch (a.kind) {
    case Item::kNumber:
      if (b == nullptr) return a.text.empty() ? 0 : 1;  // 1.0 = 1, 1.1 > 1
      if (b->kind == Item::kNumber) return detail::compare_digits(a.text, b->text);
      return 1;  // 1.1 > 1-sp, 1.1 > 1-1
    case Item::kQualifier:
      if (b == nullptr) {  // 1-rc < 1, 1-sp > 1
        return detail::compare_bytes(comparable_qualifier(a.text), comparable_qualifier(""));
      }
      if (b->kind == Item::kQualifier) {
        return detail::compare_bytes(comparable_qualifier(a.text), comparable_qualifier(b->text));
      }
      return -1;  // 1.sp < 1.1, 1.sp < 1-1
    default:
      if (b == nullptr) {  // the whole list against nothing (MNG-6964)
        for (const Item& item : a.items) {
          if (int r = compare_items(item, nullptr); r != 0) return r;
        }
        return 0;
      }
      if (b->kind == Item::kNumber) return -1;    // 1-1 < 1.1
      if (b->kind == Item::kQualifier) return 1;  // 1-1 > 1-sp
      for (std::size_t i = 0; i < std::max(a.items.size(), b->items.size()); ++i) {
        const Item* x = i < a.items.size() ? &a.items[i] : nullptr;
        const Item* y = i < b->items.size() ? &b->items[i] : nullptr;
        int r = x != nullptr ? compare_items(*x, y) : -compare_items(*y, nullptr);
        if (r != 0) return r;
      }
      return 0;
  }
}

}  // namespace

int maven_compare(std::string_view a, std::string_view b) {
  Item ia = parse(a);
  Item ib = parse(b);
  return compare_items(ia, &ib);
}

}  // namespace portcullis::scanner::versions
