// grammar/PTL.g4 - The PTL grammar (lexer and parser in one file).
//
// ANTLR 4.7.2 generates the C++ lexer/parser from this file at build time
// (grammar/CMakeLists.txt). The parse tree is seen only by frontend/Parser.cpp
// and frontend/ASTBuilder.cpp, which converts it to the AST of frontend/AST.h.
//
// Layout rules that the grammar alone does not show:
//  - Newlines are not tokens. Statements are separated by newlines or `;`,
//    which works because no statement can continue another except through an
//    operator. A line that starts with a binary operator continues the
//    expression of the previous line.
//  - A postfix call `(` or index `[` must be on the same line as the token
//    before it, so `f(x)` NEWLINE `(a, b) = g()` is two statements. In the
//    same way an `@` that starts a line begins an attribute, not a matmul.
//    The token source (frontend/Parser.cpp) gives a '(' '[' '@' that starts
//    a line the type NL_LPAREN / NL_LBRACK / NL_AT, which the postfix and
//    matmul rules do not accept (a token-level rule keeps the decisions free
//    of semantic predicates, which would force slow full-context prediction).
//  - `minimizing with steps as log every to` are tokens, but the `ident` rule
//    accepts them wherever an identifier is allowed: they are keywords only
//    inside `train`.
//  - `t.0` (tuple field) and `t.0.1` reach the parser as ID '.' INT ('.' INT):
//    the lexer makes FLOAT(".0") of `.0`, and the token source in
//    frontend/Parser.cpp splits a `.DIGITS` float that directly follows an
//    operand (identifier, integer, ')' or ']') into '.' INT.
//  - Malformed input (an invalid character, an unterminated string or block
//    comment) lexes as an error token that frontend/Parser.cpp reports; the
//    lexer itself never fails. A number directly followed by characters that
//    could continue a number (`1.2.3`, `1e5.5`, `0x`, `12abc`, `3.`) is made
//    one BAD_NUMBER token by the token source in frontend/Parser.cpp.
//  - Two statements (or declarations, or model members) on one line must be
//    separated by ';'; frontend/ASTBuilder.cpp checks this on the parse tree
//    (the grammar itself accepts `let x = 1 let y = 2`).
grammar PTL;

// Set by the token source in frontend/Parser.cpp on a '(' '[' '@' that is the
// first token of its line; only postfix call/index and matmul use the plain ones.
// BAD_NUMBER: a malformed number, made by the same token source and reported
// before parsing. LITERAL_LIST: a whole list literal of numbers (`[1.0, -2]`),
// made by the same token source (frontend/LiteralListToken.h).
tokens { NL_LPAREN, NL_LBRACK, NL_AT, BAD_NUMBER, LITERAL_LIST }

@parser::members {
  /// True when the next token is on the same line as the previous one.
  bool sameLine() {
    antlr4::Token *prev = _input->LT(-1);
    return prev == nullptr || _input->LT(1)->getLine() == prev->getLine();
  }
  /// True when the next token follows the previous one without any space.
  bool adjacent() {
    antlr4::Token *prev = _input->LT(-1);
    return prev != nullptr && _input->LT(1)->getStartIndex() == prev->getStopIndex() + 1;
  }
}

//===----------------------------------------------------------------------===//
// Files and declarations
//===----------------------------------------------------------------------===//

// program ::= (import | model | fn | stmt | ';')* EOF
program
  : (topItem | ';')* EOF
  ;

// A top-level item: a declaration or a statement that runs in order.
topItem
  : importDecl
  | modelDecl
  | fnDecl
  | stmt
  ;

// import "std/nn"
importDecl
  : IMPORT STRING
  ;

// model NAME (TYPEPARAMS)? { members }
modelDecl
  : MODEL ident (lparen (modelTypeParam (',' modelTypeParam)* ','?)? ')')? '{' (member | ';')* '}'
  ;

// A model's type parameter: n_in: i32 (= default)?
modelTypeParam
  : ident ':' type ('=' expr)?
  ;

// One member of a model body.
member
  : paramDecl
  | submodelDecl
  | fnDecl
  | derivedDecl
  | pathAnnotation
  ;

// param NAME : TYPE (= INIT)? ANNOTATION*
paramDecl
  : PARAM ident ':' type ('=' expr)? annotation*
  ;

// An annotation after a param: constrain ..., reparam ..., stop_grad.
annotation
  : constrainSpec
  | reparamSpec
  | STOP_GRAD
  ;

// constrain (> c | < c | in (lo, hi) | in [lo, hi] | : NAME) (check | project)?
constrainSpec
  : CONSTRAIN constraintBody constraintMode?
  ;

// The part of a constraint after `constrain` (and after the path in a body statement).
constraintBody
  : '>' addExpr                       # constrainGreater
  | '<' addExpr                       # constrainLess
  | IN lparen expr ',' expr ')'          # constrainOpen
  | IN lbrack expr ',' expr ']'          # constrainClosed
  | ':' ident                         # constrainNamed
  ;

// check | project
constraintMode
  : CHECK
  | PROJECT
  ;

// reparam exp | softplus | sigmoid(lo, hi)
reparamSpec
  : REPARAM reparamBody
  ;

// The bijector of a reparam: NAME (ARGS)?
reparamBody
  : ident (lparen expr (',' expr)* ')')?
  ;

// NAME : MODEL(ARGS)  -- a sub-model field
submodelDecl
  : ident ':' type
  ;

// reparam NAME = EXPR  -- a derived, read-only value
derivedDecl
  : REPARAM ident '=' expr
  ;

// A body statement naming a path: constrain PATH SPEC | reparam PATH BIJ | stop_grad PATH
pathAnnotation
  : CONSTRAIN glob constraintBody constraintMode?   # pathConstrain
  | REPARAM glob reparamBody                        # pathReparam
  | STOP_GRAD glob                                  # pathStopGrad
  ;

// fn NAME <GENERICS>? (PARAMS) (-> TYPE)? (= EXPR | BLOCK)
fnDecl
  : FN ident ('<' ident (',' ident)* '>')? lparen (fnParam (',' fnParam)* ','?)? ')'
    ('->' type)? ('=' expr | block)
  ;

// One function parameter: NAME : TYPE (= DEFAULT)?
fnParam
  : ident ':' type ('=' expr)?
  ;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

// type ::= NAME ('[' dim (',' dim)* ']')? | NAME '(' expr, ... ')' | '(' type, ... ')'
type
  : ident lbrack dim (',' dim)* ']'              # tensorType
  | ident lparen (expr (',' expr)*)? ')'         # appliedType
  | ident                                     # nameType
  | lparen (type (',' type)* ','?)? ')'          # tupleType
  ;

// A tensor dimension: an integer or a name.
dim
  : INT
  | ident
  ;

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

// A statement (also the items of a block).
stmt
  : letStmt
  | varStmt
  | forStmt
  | returnStmt
  | trainStmt
  | exprStmt
  ;

// let PATTERN (: TYPE)? = EXPR
letStmt
  : LET pattern (':' type)? '=' expr
  ;

// A binding pattern: NAME | (PATTERN, ...)
pattern
  : ident
  | lparen pattern (',' pattern)* ','? ')'
  ;

// var NAME (: TYPE)? = EXPR
varStmt
  : VAR ident (':' type)? '=' expr
  ;

// (@attr)* for NAME in LO..HI BLOCK
forStmt
  : attribute* FOR ident IN expr '..' expr block
  ;

// @NAME (ARGS)?  -- before a `for`
attribute
  : (AT | NL_AT) ident (lparen argList? ')')?
  ;

// return EXPR?  (the value must start on the line of `return`)
returnStmt
  : RETURN ({sameLine()}? expr)?
  ;

// train VAR minimizing EXPR with OPT(ARGS) for N steps (as NAME)? (log ...)? (until ...)?
trainStmt
  : TRAIN ident MINIMIZING expr WITH ident lparen argList? ')' FOR expr STEPS
    (AS ident)? trainLog? trainUntil?
  ;

// log every K (to "run.csv")? (with NAME = EXPR, ...)? (plot to "run.svg")?
// -- the metric columns, evaluated every K steps and at the last step
trainLog
  : LOG EVERY expr (TO STRING)? (WITH trainMetric (',' trainMetric)*)? (PLOT TO STRING)?
  ;

// NAME = EXPR  -- one metric column
trainMetric
  : ident '=' expr
  ;

// until COND, ...  -- early stopping, checked at the logged steps
trainUntil
  : UNTIL stopCond (',' stopCond)*
  ;

// NAME stalls for P  (no new minimum of metric NAME in P evaluations) | a bool EXPR
stopCond
  : ident STALLS FOR expr
  | expr
  ;

// An expression, optionally assigned to: TARGET (= | += | -= | *= | /=) EXPR.
// One rule for both so that no decision has to look past the target.
exprStmt
  : expr (assignOp expr)?
  ;

// = += -= *= /=
assignOp
  : '='
  | '+='
  | '-='
  | '*='
  | '/='
  ;

// { (stmt | ';')* }  -- a trailing expression statement is the block's value
block
  : '{' (stmt | ';')* '}'
  ;

//===----------------------------------------------------------------------===//
// Expressions (loosest first)
//===----------------------------------------------------------------------===//

// expr ::= orExpr
expr
  : orExpr
  ;

// a || b
orExpr
  : andExpr ('||' andExpr)*
  ;

// a && b
andExpr
  : cmpExpr ('&&' cmpExpr)*
  ;

// a == b, a != b, a < b, a <= b, a > b, a >= b
cmpExpr
  : addExpr (cmpOp addExpr)*
  ;

// == != < <= > >=
cmpOp
  : '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  ;

// a + b, a - b
addExpr
  : mulExpr (addOp mulExpr)*
  ;

// + -
addOp
  : '+'
  | '-'
  ;

// a * b, a / b, a % b, a @ b  (an `@` that starts a line is an attribute)
mulExpr
  : unaryExpr (mulOp unaryExpr)*
  ;

// * / % @
mulOp
  : '*'
  | '/'
  | '%'
  | '@'
  ;

// -x, !x  (looser than ^: -x^2 is -(x^2))
unaryExpr
  : ('-' | '!') unaryExpr
  | powExpr
  ;

// a ^ b  (right-associative; the exponent is a unary expression: x ^ -1)
powExpr
  : postfixExpr ('^' unaryExpr)?
  ;

// A primary followed by calls, fields and indexing.
postfixExpr
  : primary postfixOp*
  ;

// (ARGS) | [ITEMS] | .NAME | .INT  -- a '(' or '[' that starts a line is not postfix
postfixOp
  : '(' argList? ')'                                  # callOp
  | '[' indexItem (',' indexItem)* ','? ']'            # indexOp
  | '.' ident                                         # fieldOp
  | '.' INT                                           # tupleFieldOp
  ;

// ARG (, ARG)* ,?
argList
  : arg (',' arg)* ','?
  ;

// A positional or named argument; a name may be a dotted path (l1.b = ...).
arg
  : (ident ('.' ident)* '=')? expr
  ;

// An index (x[i]) or a slice (x[a..b], x[..b], x[a..], x[..]); written so
// that no decision looks past the first expression.
indexItem
  : lo=expr (range='..' hi=expr?)?
  | range='..' hi=expr?
  ;

// Atoms.
primary
  : INT                                               # intLit
  | FLOAT                                             # floatLit
  | STRING                                            # stringLit
  | TRUE                                              # trueLit
  | FALSE                                             # falseLit
  | ident                                             # nameExpr
  | lparen (expr (',' expr)* trailing=','?)? ')'         # parenExpr
  | lbrack (expr (',' expr)* ','?)? ']'                  # listExpr
  | LITERAL_LIST                                      # literalListExpr
  | block                                             # blockExpr
  | ifExpr                                            # ifPrimary
  | MAP ident IN expr '..' expr block                 # mapExpr
  | GRAD lparen expr ',' expr ')'                        # gradExpr
  | VALUE_AND_GRAD lparen expr ',' expr ')'              # valueAndGradExpr
  | STOP_GRAD lparen argList? ')'                        # stopGradCall
  | STOP_GRAD selector block                          # stopGradBlock
  ;

// if COND BLOCK (else (if ... | BLOCK))?
ifExpr
  : IF expr block (ELSE (ifExpr | block))?
  ;

// * (except GLOB, ...)? | GLOB, ...
selector
  : '*' (EXCEPT glob (',' glob)*)?     # selectAll
  | glob (',' glob)*                   # selectGlobs
  ;

// A dotted path whose segments may be `*` or contain `*`: gln.*, enc.gln.*, l*
glob
  : globSegment ('.' globSegment)*
  ;

// One path segment: identifiers and `*` written without spaces (l*, *_W, *).
globSegment
  : (ident | '*') ({adjacent()}? (ident | '*'))*
  ;

// '(' anywhere but in a call: also NL_LPAREN, a '(' that starts a line.
lparen
  : '('
  | NL_LPAREN
  ;

// '[' anywhere but in an index: also NL_LBRACK, a '[' that starts a line.
lbrack
  : '['
  | NL_LBRACK
  ;

// An identifier, including the words that are keywords only inside `train`.
ident
  : ID
  | MINIMIZING
  | WITH
  | STEPS
  | LOG
  | EVERY
  | TO
  | PLOT
  | UNTIL
  | STALLS
  | AS
  ;

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//


MODEL: 'model';
PARAM: 'param';
CONSTRAIN: 'constrain';
REPARAM: 'reparam';
STOP_GRAD: 'stop_grad';
CHECK: 'check';
PROJECT: 'project';
FN: 'fn';
LET: 'let';
VAR: 'var';
FOR: 'for';
IN: 'in';
MAP: 'map';
IF: 'if';
ELSE: 'else';
RETURN: 'return';
GRAD: 'grad';
VALUE_AND_GRAD: 'value_and_grad';
TRAIN: 'train';
IMPORT: 'import';
TRUE: 'true';
FALSE: 'false';
EXCEPT: 'except';
// Keywords only inside `train` (the `ident` rule accepts them elsewhere).
MINIMIZING: 'minimizing';
WITH: 'with';
STEPS: 'steps';
LOG: 'log';
EVERY: 'every';
TO: 'to';
PLOT: 'plot';
UNTIL: 'until';
STALLS: 'stalls';
AS: 'as';

LPAREN: '(';
RPAREN: ')';
LBRACK: '[';
RBRACK: ']';
LBRACE: '{';
RBRACE: '}';
COMMA: ',';
SEMI: ';';
COLON: ':';
DOTDOT: '..';
DOT: '.';
ARROW: '->';
AT: '@';
ASSIGN: '=';
PLUS_ASSIGN: '+=';
MINUS_ASSIGN: '-=';
STAR_ASSIGN: '*=';
SLASH_ASSIGN: '/=';
OROR: '||';
ANDAND: '&&';
EQ: '==';
NE: '!=';
LE: '<=';
GE: '>=';
LT: '<';
GT: '>';
PLUS: '+';
MINUS: '-';
STAR: '*';
SLASH: '/';
PERCENT: '%';
CARET: '^';
BANG: '!';

// 3.0, .5, 1e-3, 2.5E+4 (not `3.`: `0..T` is INT '..' ID). `t.0` first
// lexes as ID FLOAT(".0"); frontend/Parser.cpp splits a FLOAT `.DIGITS`
// written right after an operand into '.' INT.
FLOAT
  : DIGITS '.' DIGITS EXPONENT?
  | DIGITS EXPONENT
  | '.' DIGITS EXPONENT?
  ;
// 3, 0x1F
INT
  : DIGITS
  | '0' [xX] [0-9a-fA-F]+
  ;
ID: [A-Za-z_] [A-Za-z0-9_]*;
// "text" with \" \\ \n (\t too); no raw newlines
STRING: '"' (~["\\\r\n] | '\\' ~[\r\n])* '"';

fragment DIGITS: [0-9]+;
fragment EXPONENT: [eE] [+-]? DIGITS;

WS: [ \t\r\n\f]+ -> skip;
LINE_COMMENT: '//' ~[\r\n]* -> skip;
BLOCK_COMMENT: '/*' (~'*' | '*'+ ~[*/])* '*'+ '/' -> skip;

// Error tokens, reported by frontend/Parser.cpp before parsing.
UNTERMINATED_COMMENT: '/*' (~'*' | '*'+ ~[*/])* '*'* EOF;
UNTERMINATED_STRING: '"' (~["\\\r\n] | '\\' ~[\r\n])* '\\'?;
ERROR_CHAR: .;
