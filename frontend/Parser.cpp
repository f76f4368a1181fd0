//===- frontend/Parser.cpp - Source text to AST -------------------------------===//
//
// The steps, in order, each stopping the parse when it reports an error:
//  1. the text must be valid UTF-8;
//  2. lex the whole file; the grammar turns malformed input (an invalid
//     character, an unterminated string or block comment, a malformed
//     number) into error tokens, reported here; a file with no tokens at all is "empty";
//  3. a pass over the tokens bounds the nesting depth (ANTLR's generated
//     parser recurses per level and would overflow the stack on deep input);
//  4. parse with an error strategy that words ANTLR's errors for people and
//     reports them as PTL diagnostics (several per file where the parser
//     recovers); a tree with syntax errors is never walked;
//  5. convert the parse tree to the AST (ASTBuilder.cpp).
// Steps 4 and 5 run on a large stack (frontend/LargeStack.h: a long-lived
// worker thread) so that even input at the depth limit cannot overflow it,
// whatever the build flags.
//
//===----------------------------------------------------------------------===//
#include "frontend/Parser.h"

#include "frontend/ASTBuilder.h"
#include "frontend/LargeStack.h"
#include "frontend/LiteralListToken.h"

#include "PTLLexer.h"
#include "PTLParser.h"
#include "antlr4-runtime.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <set>

namespace ptl {

using grammar::PTLLexer;
using grammar::PTLParser;

namespace {

//===----------------------------------------------------------------------===//
// Step 1: UTF-8
//===----------------------------------------------------------------------===//

/// The offset of the first byte that is not part of a well-formed UTF-8
/// sequence (overlong forms, surrogates and code points past U+10FFFF are
/// ill-formed), or npos.
size_t findInvalidUtf8(const std::string &s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    unsigned lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    for (int k = 1; k < len; ++k) {
      if (i + k >= n)
        return i; // truncated at end of file
      unsigned char d = s[i + k];
      unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
      if (d < l || d > h)
        return i; // the sequence that starts here is ill-formed
    }
    i += len;
  }
  return std::string::npos;
}

//===----------------------------------------------------------------------===//
// Step 2: lexing
//===----------------------------------------------------------------------===//

/// The generated lexer plus three fix-ups that keep semantic predicates out
/// of the grammar (lexer predicates disable ANTLR's lexer DFA cache; parser
/// predicates on the newline rule force full-context prediction):
///  - `t.0` lexes as ID FLOAT(".0"), so a float `.DIGITS` written directly
///    after an operand is split into '.' INT (a tuple field); `t.0.1`
///    becomes ID '.' INT '.' INT;
///  - a number directly followed by what could continue a number (a letter,
///    digit or `_`; a `.` not starting `..`; a sign after the `e` of a
///    decimal number) is malformed: `1.2.3`, `1e5.5`, `0x`, `0x1G`, `12abc`,
///    `1e+`, `3.` each become one BAD_NUMBER token spanning the whole run,
///    reported at its first character (the lexer alone would split them into
///    several tokens, read as several statements);
///  - a '(' '[' '@' that is the first token of its line becomes NL_LPAREN /
///    NL_LBRACK / NL_AT, which cannot continue the previous line as a call,
///    an index or a matmul.
class PtlTokenSource : public PTLLexer {
public:
  using PTLLexer::PTLLexer;

  std::unique_ptr<antlr4::Token> nextToken() override {
    std::unique_ptr<antlr4::Token> t = takeToken();
    bool firstOnLine = t->getLine() > prevLine_ && prevLine_ > 0;
    if (t->getType() == LBRACK && (firstOnLine || !endsOperandType(lastType_)) && lastType_ != IN)
      t = literalList(std::move(t));
    if (firstOnLine) {
      size_t type = t->getType();
      auto *w = static_cast<antlr4::CommonToken *>(t.get());
      if (type == LPAREN)
        w->setType(PTLParser::NL_LPAREN);
      else if (type == LBRACK)
        w->setType(PTLParser::NL_LBRACK);
      else if (type == AT)
        w->setType(PTLParser::NL_AT);
    }
    prevLine_ = t->getLine();
    lastType_ = t->getType();
    return t;
  }

  /// Does a token of this type end an operand (so a following '[' indexes it)?
  static bool endsOperandType(size_t type) {
    switch (type) {
    case ID: case INT: case FLOAT: case STRING: case TRUE: case FALSE:
    case RPAREN: case RBRACK: case RBRACE: case PTLParser::LITERAL_LIST:
    case MINIMIZING: case WITH: case STEPS: case LOG: case EVERY: case TO: case AS:
    case PLOT: case UNTIL: case STALLS:
      return true;
    default:
      return false;
    }
  }

private:
  std::deque<std::unique_ptr<antlr4::Token>> queue_; ///< lexed, not yet handed out
  size_t prevType_ = 0;           ///< the last token lexed (for the tuple-field split)
  size_t prevStop_ = (size_t)-2;
  size_t prevLine_ = 0;           ///< the last token handed out
  size_t lastType_ = 0;

  /// The next token: a queued one, or a new one with the tuple-field split
  /// and malformed numbers applied.
  std::unique_ptr<antlr4::Token> takeToken() {
    if (!queue_.empty()) {
      std::unique_ptr<antlr4::Token> t = std::move(queue_.front());
      queue_.pop_front();
      return t;
    }
    std::unique_ptr<antlr4::Token> t = PTLLexer::nextToken();
    bool number = t->getType() == INT || t->getType() == FLOAT;
    if (isTupleFieldFloat(*t)) {
      auto dot = std::make_unique<antlr4::CommonToken>(t.get());
      dot->setType(DOT);
      dot->setText(".");
      dot->setStopIndex(t->getStartIndex());
      auto index = std::make_unique<antlr4::CommonToken>(t.get());
      index->setType(INT);
      index->setText(t->getText().substr(1));
      index->setStartIndex(t->getStartIndex() + 1);
      index->setCharPositionInLine(t->getCharPositionInLine() + 1);
      queue_.push_back(std::move(index));
      t = std::move(dot);
    } else if (number) {
      t = extendMalformedNumber(std::move(t));
    }
    const antlr4::Token &last = queue_.empty() ? *t : *queue_.back();
    prevType_ = last.getType();
    prevStop_ = last.getStopIndex();
    return t;
  }

  /// `open` (a '[' that starts a list) and what follows as one LITERAL_LIST
  /// token if the list holds only numbers, each perhaps negated
  /// (`[1.0, -2, 3e5,]`); otherwise `open`, with the tokens read queued.
  /// A long literal list then costs one token and one AST node per
  /// element, not a chain of parse-tree contexts per element.
  std::unique_ptr<antlr4::Token> literalList(std::unique_ptr<antlr4::Token> open) {
    std::vector<std::unique_ptr<antlr4::Token>> seen;
    auto list = std::make_unique<LiteralListToken>(open.get());
    list->setType(PTLParser::LITERAL_LIST);
    auto fail = [&]() {
      for (auto it = seen.rbegin(); it != seen.rend(); ++it)
        queue_.push_front(std::move(*it));
      return std::move(open);
    };
    bool afterComma = false;
    while (true) {
      std::unique_ptr<antlr4::Token> t = takeToken();
      if (t->getType() == RBRACK && afterComma) { // a trailing comma
        list->setStopIndex(t->getStopIndex());
        list->setText(_input->getText(antlr4::misc::Interval(list->getStartIndex(), list->getStopIndex())));
        return list;
      }
      LiteralListToken::Element e;
      if (t->getType() == MINUS) {
        e.minusStart = t->getStartIndex();
        seen.push_back(std::move(t));
        t = takeToken();
      }
      if (t->getType() != INT && t->getType() != FLOAT) {
        seen.push_back(std::move(t));
        return fail();
      }
      e.isFloat = t->getType() == FLOAT;
      e.start = t->getStartIndex();
      e.stop = t->getStopIndex();
      e.text = t->getText();
      list->elements.push_back(std::move(e));
      seen.push_back(std::move(t));
      t = takeToken();
      size_t type = t->getType();
      if (type == RBRACK) {
        list->setStopIndex(t->getStopIndex());
        list->setText(_input->getText(antlr4::misc::Interval(list->getStartIndex(), list->getStopIndex())));
        return list;
      }
      seen.push_back(std::move(t));
      if (type != COMMA)
        return fail();
      afterComma = true;
    }
  }

  /// Can code point `c` continue the spelling of a number?
  static bool isNumberChar(size_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }

  /// `t` (an INT or FLOAT just lexed) unchanged, or, when characters that
  /// can continue a number follow it directly, one BAD_NUMBER token spanning
  /// them all (they are consumed).
  std::unique_ptr<antlr4::Token> extendMalformedNumber(std::unique_ptr<antlr4::Token> t) {
    std::string text = t->getText();
    bool hex = text.size() > 1 && (text[1] == 'x' || text[1] == 'X');
    auto *sim = getInterpreter<antlr4::atn::LexerATNSimulator>();
    size_t before = text.size();
    while (true) {
      size_t c = _input->LA(1);
      char last = text.back();
      bool sign = (c == '+' || c == '-') && !hex && (last == 'e' || last == 'E');
      if (!isNumberChar(c) && !(c == '.' && _input->LA(2) != '.') && !sign)
        break;
      text += (char)c;
      sim->consume(_input);
    }
    if (text.size() == before)
      return t;
    auto bad = std::make_unique<antlr4::CommonToken>(t.get());
    bad->setType(PTLParser::BAD_NUMBER);
    bad->setText(text);
    bad->setStopIndex(_input->index() - 1);
    return bad;
  }

  bool isTupleFieldFloat(const antlr4::Token &t) const {
    if (t.getType() != FLOAT || prevStop_ + 1 != t.getStartIndex())
      return false;
    if (prevType_ != ID && prevType_ != INT && prevType_ != RPAREN && prevType_ != RBRACK &&
        prevType_ != PTLParser::LITERAL_LIST)
      return false;
    std::string text = t.getText();
    return text.size() > 1 && text[0] == '.' &&
           text.find_first_not_of("0123456789", 1) == std::string::npos;
  }
};

//===----------------------------------------------------------------------===//
// Error tokens
//===----------------------------------------------------------------------===//

/// How a character is shown in "invalid character ..." messages.
std::string describeChar(const std::string &utf8, size_t codePoint) {
  if (codePoint < 0x20 || codePoint == 0x7F) {
    char buf[16];
    snprintf(buf, sizeof buf, "U+%04zX", codePoint);
    return buf;
  }
  return "'" + utf8 + "'";
}

//===----------------------------------------------------------------------===//
// Step 3: nesting depth
//===----------------------------------------------------------------------===//

/// Tokens that build one more level of expression nesting in the AST
/// (operators, member access, `else if` chains) or that continue the
/// expression of the previous line when they start a line.
bool isNestingOperator(size_t type) {
  switch (type) {
  case PTLLexer::PLUS: case PTLLexer::MINUS: case PTLLexer::STAR:
  case PTLLexer::SLASH: case PTLLexer::PERCENT: case PTLLexer::AT:
  case PTLLexer::CARET: case PTLLexer::BANG: case PTLLexer::OROR:
  case PTLLexer::ANDAND: case PTLLexer::EQ: case PTLLexer::NE:
  case PTLLexer::LT: case PTLLexer::LE: case PTLLexer::GT: case PTLLexer::GE:
  case PTLLexer::DOT: case PTLLexer::ELSE:
    return true;
  default:
    return false;
  }
}

/// Tokens that can end an operand (so a following '(' or '[' is a call or index).
bool endsOperand(size_t type) {
  switch (type) {
  case PTLLexer::ID: case PTLLexer::INT: case PTLLexer::FLOAT:
  case PTLLexer::STRING: case PTLLexer::TRUE: case PTLLexer::FALSE:
  case PTLLexer::RPAREN: case PTLLexer::RBRACK: case PTLLexer::RBRACE:
  case PTLLexer::MINIMIZING: case PTLLexer::WITH: case PTLLexer::STEPS:
  case PTLLexer::LOG: case PTLLexer::EVERY: case PTLLexer::TO: case PTLLexer::AS:
  case PTLLexer::PLOT: case PTLLexer::UNTIL: case PTLLexer::STALLS:
  case PTLParser::LITERAL_LIST:
    return true;
  default:
    return false;
  }
}

/// Tokens after which a new expression starts at the same bracket level.
bool resetsNesting(size_t type) {
  switch (type) {
  case PTLLexer::COMMA: case PTLLexer::SEMI: case PTLLexer::COLON:
  case PTLLexer::ARROW: case PTLLexer::ASSIGN: case PTLLexer::PLUS_ASSIGN:
  case PTLLexer::MINUS_ASSIGN: case PTLLexer::STAR_ASSIGN:
  case PTLLexer::SLASH_ASSIGN: case PTLLexer::DOTDOT: case PTLLexer::LET:
  case PTLLexer::VAR: case PTLLexer::FOR: case PTLLexer::RETURN:
  case PTLLexer::TRAIN: case PTLLexer::FN: case PTLLexer::MODEL:
  case PTLLexer::PARAM: case PTLLexer::IMPORT: case PTLLexer::CONSTRAIN:
  case PTLLexer::REPARAM: case PTLLexer::IN: case PTLLexer::MINIMIZING:
    return true;
  default:
    return false;
  }
}

/// Finds the first token at which the nesting (open brackets plus the
/// operators of the unfinished expression at each open level) exceeds
/// kMaxNestingDepth; returns null if there is none. This bounds both the
/// recursion of ANTLR's parser and the depth of the AST that later passes
/// walk recursively.
antlr4::Token *findTooDeepNesting(const std::vector<antlr4::Token *> &tokens) {
  std::vector<int> ops{0}; // operators in the current expression, per open level
  int total = 0;           // open brackets + the sum of `ops`
  antlr4::Token *prev = nullptr;
  for (antlr4::Token *t : tokens) {
    size_t type = t->getType();
    if (type == antlr4::Token::EOF)
      break;
    bool op = isNestingOperator(type);
    if (prev && t->getLine() != prev->getLine() && !op &&
        !isNestingOperator(prev->getType())) {
      total -= ops.back(); // a new line that does not continue an expression
      ops.back() = 0;
    }
    if (type == PTLLexer::LPAREN || type == PTLLexer::LBRACK ||
        type == PTLLexer::LBRACE || type == PTLParser::NL_LPAREN ||
        type == PTLParser::NL_LBRACK) {
      // A call or index applied to an operand nests like an operator.
      if ((type == PTLLexer::LPAREN || type == PTLLexer::LBRACK) && prev &&
          endsOperand(prev->getType())) {
        ++ops.back();
        ++total;
      }
      ops.push_back(0);
      ++total;
    } else if (type == PTLLexer::RPAREN || type == PTLLexer::RBRACK ||
               type == PTLLexer::RBRACE) {
      if (ops.size() > 1) {
        total -= ops.back() + 1;
        ops.pop_back();
      }
    } else if (op) {
      ++ops.back();
      ++total;
    } else if (resetsNesting(type)) {
      total -= ops.back();
      ops.back() = 0;
    }
    if (total > kMaxNestingDepth)
      return t;
    prev = t;
  }
  return nullptr;
}

/// The bracket that closes `open` ('(', '[' or '{').
char closerOf(char open) { return open == '(' ? ')' : open == '[' ? ']' : '}'; }

/// The innermost bracket left open at the end of the file, or null; `count`
/// (if given) receives how many are left open.
antlr4::Token *findUnclosedBracket(const std::vector<antlr4::Token *> &tokens, size_t *count = nullptr) {
  std::vector<antlr4::Token *> open;
  for (antlr4::Token *t : tokens) {
    std::string text = t->getType() == antlr4::Token::EOF ? "" : t->getText();
    if (text == "(" || text == "[" || text == "{") {
      open.push_back(t);
    } else if (!open.empty() && (text == ")" || text == "]" || text == "}")) {
      char want = closerOf(open.back()->getText()[0]);
      if (text[0] == want)
        open.pop_back();
    }
  }
  if (count)
    *count = open.size();
  return open.empty() ? nullptr : open.back();
}

//===----------------------------------------------------------------------===//
// Step 4: syntax errors in PTL's words
//===----------------------------------------------------------------------===//

/// Is `type` one of the words that are keywords only inside `train`?
bool isSoftKeyword(size_t type) {
  return type == PTLLexer::MINIMIZING || type == PTLLexer::WITH ||
         type == PTLLexer::STEPS || type == PTLLexer::LOG ||
         type == PTLLexer::EVERY || type == PTLLexer::TO || type == PTLLexer::PLOT ||
         type == PTLLexer::UNTIL || type == PTLLexer::STALLS || type == PTLLexer::AS;
}

/// The tokens that can start an expression.
bool startsExpression(size_t type) {
  switch (type) {
  case PTLLexer::ID: case PTLLexer::INT: case PTLLexer::FLOAT:
  case PTLLexer::STRING: case PTLLexer::TRUE: case PTLLexer::FALSE:
  case PTLLexer::LPAREN: case PTLLexer::LBRACK: case PTLLexer::LBRACE:
  case PTLParser::NL_LPAREN: case PTLParser::NL_LBRACK:
  case PTLLexer::MINUS: case PTLLexer::BANG: case PTLLexer::IF:
  case PTLLexer::MAP: case PTLLexer::GRAD: case PTLLexer::VALUE_AND_GRAD:
  case PTLLexer::STOP_GRAD: case PTLParser::LITERAL_LIST:
    return true;
  default:
    return isSoftKeyword(type);
  }
}

/// How a token is named in a message: 'text', or "end of file".
std::string describeToken(antlr4::Token *t) {
  if (!t || t->getType() == antlr4::Token::EOF)
    return "end of file";
  std::string text = t->getText();
  if (text.size() > 24)
    text = text.substr(0, 20) + "...";
  return "'" + text + "'";
}

/// How an expected token type is named: "')'", "identifier", ...
std::string describeTokenType(const antlr4::dfa::Vocabulary &vocab, size_t type) {
  switch (type) {
  case antlr4::Token::EOF: return "end of file";
  case PTLLexer::ID: return "identifier";
  case PTLLexer::INT: return "integer";
  case PTLLexer::FLOAT: return "number";
  case PTLLexer::STRING: return "string";
  case PTLParser::NL_LPAREN: return "'('";
  case PTLParser::NL_LBRACK: return "'['";
  case PTLParser::NL_AT: return "'@'";
  case PTLParser::LITERAL_LIST: return "a list";
  default: break;
  }
  std::string lit = vocab.getLiteralName(type);
  return lit.empty() ? vocab.getSymbolicName(type) : lit;
}

/// "expected X", "expected X or Y", "expected an expression", or "" when
/// the set is too large to be useful.
std::string describeExpected(antlr4::Parser *parser, const antlr4::misc::IntervalSet &set) {
  std::vector<size_t> types;
  for (ssize_t v : set.toList())
    if (v >= 0 || v == (ssize_t)antlr4::Token::EOF)
      types.push_back((size_t)v);
  bool hasId = false;
  int exprStarts = 0;
  for (size_t t : types) {
    hasId |= t == PTLLexer::ID;
    exprStarts += startsExpression(t) && !isSoftKeyword(t);
  }
  std::vector<std::string> names;
  auto add = [&](size_t t) {
    std::string name = describeTokenType(parser->getVocabulary(), t);
    if (std::find(names.begin(), names.end(), name) == names.end())
      names.push_back(name);
  };
  if (exprStarts >= 8) { // a full expression start set
    names.push_back("an expression");
    for (size_t t : types)
      if (!startsExpression(t))
        add(t);
  } else {
    for (size_t t : types)
      if (!(hasId && isSoftKeyword(t)))
        add(t);
  }
  if (names.empty() || names.size() > 5)
    return "";
  std::string out = "expected ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

/// "unexpected X; expected Y" (the second part when it is known and short).
std::string unexpectedMessage(antlr4::Parser *parser, antlr4::Token *t,
                              const antlr4::misc::IntervalSet &expected) {
  std::string msg = "unexpected " + describeToken(t);
  std::string exp = describeExpected(parser, expected);
  if (!exp.empty())
    msg += "; " + exp;
  return msg;
}

/// ANTLR's default recovery with PTL's messages.
class PtlErrorStrategy : public antlr4::DefaultErrorStrategy {
protected:
  void reportNoViableAlternative(antlr4::Parser *p,
                                 const antlr4::NoViableAltException &e) override {
    antlr4::Token *t = e.getOffendingToken();
    std::string msg;
    if (e.getStartToken() == t)
      msg = unexpectedMessage(p, t, e.getExpectedTokens());
    else
      msg = "unexpected " + describeToken(t);
    p->notifyErrorListeners(t, msg, std::make_exception_ptr(e));
  }
  void reportInputMismatch(antlr4::Parser *p,
                           const antlr4::InputMismatchException &e) override {
    antlr4::Token *t = e.getOffendingToken();
    p->notifyErrorListeners(t, unexpectedMessage(p, t, e.getExpectedTokens()),
                            std::make_exception_ptr(e));
  }
  void reportFailedPredicate(antlr4::Parser *p,
                             const antlr4::FailedPredicateException &e) override {
    antlr4::Token *t = e.getOffendingToken();
    p->notifyErrorListeners(t, "unexpected " + describeToken(t), std::make_exception_ptr(e));
  }
  void reportUnwantedToken(antlr4::Parser *p) override {
    if (inErrorRecoveryMode(p))
      return;
    beginErrorCondition(p);
    antlr4::Token *t = p->getCurrentToken();
    p->notifyErrorListeners(t, unexpectedMessage(p, t, getExpectedTokens(p)), nullptr);
  }
  void reportMissingToken(antlr4::Parser *p) override {
    if (inErrorRecoveryMode(p))
      return;
    beginErrorCondition(p);
    antlr4::Token *t = p->getCurrentToken();
    p->notifyErrorListeners(t, unexpectedMessage(p, t, getExpectedTokens(p)), nullptr);
  }
};

/// Where an error at token `t` is shown. An error at the end of the file
/// points just past the last token, where the missing text belongs.
SourceLoc tokenLoc(const SourceLocator &locator, antlr4::Token *t, antlr4::Token *lastToken) {
  if (t->getType() != antlr4::Token::EOF)
    return locator.span(t->getStartIndex(), t->getStopIndex());
  if (!lastToken)
    return locator.atByte(0);
  SourceLoc loc = locator.span(lastToken->getStartIndex(), lastToken->getStopIndex());
  loc.col += loc.length;
  loc.length = 1;
  return loc;
}

/// Turns the (already worded) parser errors into diagnostics, one per position.
class DiagnosticErrorListener : public antlr4::BaseErrorListener {
public:
  /// `unclosed` is the innermost bracket that is never closed, if any: an
  /// error at the end of the file then names its closing bracket.
  DiagnosticErrorListener(const SourceLocator &locator, DiagnosticEngine &diags,
                          antlr4::Token *lastToken, antlr4::Token *unclosed)
      : locator_(locator), diags_(diags), lastToken_(lastToken), unclosed_(unclosed) {}

  void syntaxError(antlr4::Recognizer *, antlr4::Token *offending, size_t line,
                   size_t col, const std::string &msg, std::exception_ptr) override {
    ++reported_;
    SourceLoc loc;
    if (offending) {
      loc = tokenLoc(locator_, offending, lastToken_);
    } else {
      loc = {locator_.fileId(), (int)line, (int)col + 1, 1};
    }
    if (!seen_.insert({loc.line, loc.col}).second)
      return; // one error per position: recovery often repeats itself
    if (offending && offending->getType() == antlr4::Token::EOF && unclosed_) {
      // Point at the bracket left open; name its closer if nothing else is known.
      std::string open = unclosed_->getText();
      std::string text = msg;
      if (text == "unexpected end of file")
        text += std::string("; expected '") + closerOf(open[0]) + "'";
      (diags_.error(loc) << text)
          .note(locator_.span(unclosed_->getStartIndex(), unclosed_->getStopIndex()),
                "to match this '" + open + "'");
      return;
    }
    diags_.error(loc) << msg;
  }

private:
  const SourceLocator &locator_;
  DiagnosticEngine &diags_;
  antlr4::Token *lastToken_;
  antlr4::Token *unclosed_;
  std::set<std::pair<int, int>> seen_;
  int reported_ = 0;

public:
  /// How many errors the parser reported (before de-duplication).
  int reported() const { return reported_; }
};

} // namespace

//===----------------------------------------------------------------------===//
// parseProgram
//===----------------------------------------------------------------------===//

std::unique_ptr<ast::Program> parseProgram(SourceManager &sm, int fileId,
                                           DiagnosticEngine &diags) {
  const SourceFile &file = sm.file(fileId);
  int errorsBefore = diags.errorCount();
  SourceLocator locator(sm, fileId);

  // 1. UTF-8.
  size_t bad = findInvalidUtf8(file.text);
  if (bad != std::string::npos) {
    char buf[64];
    snprintf(buf, sizeof buf, "invalid UTF-8 byte 0x%02X at offset %zu",
             (unsigned)(unsigned char)file.text[bad], bad);
    diags.error(locator.atByte(bad)) << buf;
    return nullptr;
  }

  // 2. Lex everything; report error tokens.
  antlr4::ANTLRInputStream input(file.text);
  PtlTokenSource lexer(&input);
  lexer.removeErrorListeners(); // the grammar makes every input lex
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();
  antlr4::Token *lastToken = nullptr;
  for (antlr4::Token *t : tokens.getTokens()) {
    SourceLoc loc = locator.span(t->getStartIndex(), t->getStopIndex());
    switch (t->getType()) {
    case PTLLexer::ERROR_CHAR: {
      std::string text = t->getText();
      size_t cp = (unsigned char)text[0];
      if (cp >= 0x80) { // decode the (valid) UTF-8 sequence for the message
        int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : 1;
        cp &= 0x3F >> extra;
        for (int k = 1; k <= extra && k < (int)text.size(); ++k)
          cp = (cp << 6) | ((unsigned char)text[k] & 0x3F);
      }
      diags.error(loc) << "invalid character " << describeChar(text, cp);
      break;
    }
    case PTLParser::BAD_NUMBER:
      diags.error(loc) << "malformed number '" << t->getText() << "'";
      break;
    case PTLLexer::UNTERMINATED_STRING:
      loc.length = 1;
      diags.error(loc) << "unterminated string";
      break;
    case PTLLexer::UNTERMINATED_COMMENT:
      loc.length = 2;
      diags.error(loc) << "unterminated block comment";
      break;
    case antlr4::Token::EOF:
      break;
    default:
      lastToken = t;
    }
  }
  if (diags.errorCount() > errorsBefore)
    return nullptr;
  if (!lastToken) {
    diags.error(SourceLoc{fileId, 1, 1, 1}) << "file is empty";
    return nullptr;
  }

  // 3. Nesting depth.
  if (antlr4::Token *deep = findTooDeepNesting(tokens.getTokens())) {
    diags.error(locator.span(deep->getStartIndex(), deep->getStopIndex()))
        << "nesting deeper than " << kMaxNestingDepth << " levels";
    return nullptr;
  }

  // 3b. Many brackets left open. The parse could only end at "unexpected end
  // of file", and ANTLR's recovery through hundreds of open blocks takes time
  // quadratic in their number (seconds for a 2 KB file of `{`), so that error
  // is reported now, as the parse would word it.
  size_t unclosedCount = 0;
  antlr4::Token *unclosed = findUnclosedBracket(tokens.getTokens(), &unclosedCount);
  if (unclosed && unclosedCount > kMaxUnclosedBrackets) {
    std::string text = unclosed->getText();
    (diags.error(tokenLoc(locator, tokens.get(tokens.size() - 1), lastToken))
     << "unexpected end of file; expected '" << closerOf(text[0]) << "' ("
     << unclosedCount << " brackets are left open)")
        .note(locator.span(unclosed->getStartIndex(), unclosed->getStopIndex()), "to match this '" + text + "'");
    return nullptr;
  }

  // 4 and 5. Parse and build, on a large stack.
  std::unique_ptr<ast::Program> program;
  runWithLargeStack([&] {
    // Two stages, as ANTLR recommends: SLL prediction (fast, and it either
    // yields the LL parse tree or fails), then on failure full LL prediction
    // with error reporting and recovery. The newline rule makes SLL conflicts
    // common (`f(x)` vs `f` then a statement `(x)`), so stage 1 matters.
    tokens.seek(0);
    PTLParser parser(&tokens);
    parser.removeErrorListeners();
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::SLL);
    parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
    PTLParser::ProgramContext *tree = nullptr;
    try {
      tree = parser.program();
    } catch (antlr4::ParseCancellationException &) {
      tree = nullptr;
    }
    if (!tree) {
      tokens.seek(0);
      parser.reset();
      DiagnosticErrorListener listener(locator, diags, lastToken, unclosed);
      parser.addErrorListener(&listener);
      parser.setErrorHandler(std::make_shared<PtlErrorStrategy>());
      parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
          antlr4::atn::PredictionMode::LL);
      tree = parser.program();
      parser.removeErrorListeners();
      if (listener.reported() > 0 || parser.getNumberOfSyntaxErrors() > 0)
        return; // never walk a tree with syntax errors
    }
    if (diags.errorCount() > errorsBefore)
      return;
    program = buildAST(tree, locator, diags);
  });
  if (diags.errorCount() > errorsBefore)
    return nullptr;
  return program;
}

//===----------------------------------------------------------------------===//
// SourceLocator
//===----------------------------------------------------------------------===//

SourceLocator::SourceLocator(const SourceManager &sm, int fileId)
    : file_(sm.file(fileId)), fileId_(fileId) {
  const std::string &s = file_.text;
  endCp_ = s.size();
  bool ascii = true;
  for (unsigned char c : s)
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii)
    return;
  // Code points are the bytes that do not continue a UTF-8 sequence.
  size_t cp = 0;
  lineStartCp_.push_back(0);
  for (unsigned char c : s) {
    if ((c & 0xC0) == 0x80)
      continue;
    ++cp;
    if (c == '\n')
      lineStartCp_.push_back(cp);
  }
  endCp_ = cp;
}

SourceLoc SourceLocator::atByte(size_t offset) const {
  const auto &starts = file_.lineStarts;
  offset = std::min(offset, file_.text.size());
  size_t line = std::upper_bound(starts.begin(), starts.end(), offset) - starts.begin();
  int col = 1;
  for (size_t i = starts[line - 1]; i < offset; ++i)
    col += ((unsigned char)file_.text[i] & 0xC0) != 0x80;
  return SourceLoc{fileId_, (int)line, col, 1};
}

SourceLoc SourceLocator::span(size_t start, size_t stop) const {
  // Line starts in code points: the file's byte offsets when it is ASCII.
  const std::vector<size_t> &starts = lineStartCp_.empty() ? file_.lineStarts : lineStartCp_;
  start = std::min(start, endCp_);
  size_t line = std::upper_bound(starts.begin(), starts.end(), start) - starts.begin();
  SourceLoc loc{fileId_, (int)line, (int)(start - starts[line - 1]) + 1, 1};
  if (stop == (size_t)-1 || stop < start)
    return loc;
  // One past the last code point, cut at the end of the first line.
  size_t end = std::min(stop + 1, endCp_);
  if (line < starts.size())
    end = std::min(end, starts[line] - 1);
  loc.length = std::max<int>(1, (int)(end - std::min(end, start)));
  return loc;
}

} // namespace ptl
