# Copyright (C) The ngx_http_staged_update_module authors
#
# Self-test of the Test::Nginx::Socket harness, using plain nginx features only.
#
# Must pass both under our fallback harness and under the CPAN Test::Nginx:
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove -I t/lib t/harness/selftest.t
#   TEST_NGINX_BINARY=/usr/sbin/nginx PERL5LIB=/path/to/test-nginx/lib \
#       prove t/harness/selftest.t
# The explicit plan makes both harnesses agree on the number of tests.

use Test::Nginx::Socket;

repeat_each(2);
no_shuffle();
env_to_nginx('TN_SELFTEST=1');

plan tests => repeat_each() * 70;

# "--- get: URI" is a shorthand for "--- request GET URI"
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(request => 'GET ' . $block->get) if defined $block->get;
});

# "--- increasing": the body is a number larger than in the previous response
# of this block (proves the repeated requests hit the same running nginx).
my $last;
add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx) = @_;
    return unless defined $block->increasing;
    $last = -1 if $req_idx == 0 && $repeated_req_idx == 0;
    ok($body > $last, $block->name . " - $body increases ($last)");
    $last = $body;
});

run_tests();

__DATA__

=== TEST 1: plain return
--- config
location = /t { return 200 "hello\n"; }
--- request
GET /t
--- response_body
hello
--- response_headers
Content-Type: text/plain
--- no_error_log
[error]



=== TEST 2: 204 and headers (names are case-insensitive, !Name = absent)
--- config
location = /t {
    add_header X-A foo;
    add_header X-B "bar baz";
    return 204;
}
--- request
GET /t
--- error_code: 204
--- response_headers
X-A: foo
x-b: bar baz
!X-Absent
--- response_body



=== TEST 3: more_headers reach nginx
--- config
location = /t { return 200 "foo=$http_x_foo bar=$http_x_bar\n"; }
--- more_headers
X-Foo: hello
X-Bar: world
--- request
GET /t
--- response_body
foo=hello bar=world



=== TEST 4: request body gets a Content-Length
--- config
location = /t { return 200 "$request_method len=$http_content_length\n"; }
--- request
POST /t
hello world
--- response_body
POST len=11



=== TEST 5: chunked response is de-chunked
--- config
location = /t {
    sub_filter_types *;
    sub_filter_once off;
    sub_filter a b;
    return 200 "aaa\n";
}
--- request
GET /t
--- response_headers
Transfer-Encoding: chunked
--- response_body
bbb



=== TEST 6: error_log and no_error_log
--- config
--- request
GET /missing.txt
--- error_code: 404
--- error_log
open()
No such file or directory
--- no_error_log
[alert]
[emerg]



=== TEST 7: must_die with an unknown directive
--- config
location = /t { foo_bar_baz on; }
--- request
GET /t
--- must_die
--- error_log
unknown directive "foo_bar_baz"



=== TEST 8: several requests per block, same nginx across repeats
--- config
location = /c { return 200 "$connection"; }
--- request eval
["GET /c", "GET /c"]
--- increasing
--- response_body_like eval
["^\\d+\$", "^\\d+\$"]



=== TEST 9: pipelined requests on one connection
--- config
location = /p { return 200 "a=$arg_a conn=$http_connection\n"; }
--- pipelined_requests eval
["GET /p?a=1", "GET /p?a=2"]
--- response_body eval
["a=1 conn=keep-alive\n", "a=2 conn=close\n"]



=== TEST 10: raw request
--- config
location = /r { return 200 "x=$arg_x $server_protocol\n"; }
--- raw_request eval
"GET /r?x=5 HTTP/1.0\r\nHost: localhost\r\n\r\n"
--- response_body
x=5 HTTP/1.0



=== TEST 11: raw request in two packets (no config: previous nginx)
--- raw_request eval
["GET /r?x=", "7 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"]
--- response_body
x=7 HTTP/1.1



=== TEST 12: request eval array with per-request expectations
--- config
location = /r { return 200 "x=$arg_x\n"; }
--- request eval
["GET /r?x=1", "GET /nope"]
--- error_code eval
[200, 404]
--- response_body_like eval
["^x=1\$", "404 Not Found"]



=== TEST 13: response_body_like is an unanchored /s regex
--- config
location = /t { return 200 "hello, world!\nbye\n"; }
--- get: /t
--- response_body_like: world!.bye
--- response_body_unlike: ^bye



=== TEST 14: user_files and $TEST_NGINX_* expansion
--- config
location = /port { return 200 "$TEST_NGINX_SERVER_PORT\n"; }
--- user_files
>>> a.txt
Hello, world
>>> port.txt
port=$TEST_NGINX_SERVER_PORT
--- request eval
["GET /a.txt", "GET /port.txt"]
--- response_body eval
["Hello, world\n", "port=\$TEST_NGINX_SERVER_PORT\n"]



=== TEST 15: HEAD has no body
--- config
location = /t { return 200 "xyz"; }
--- request
HEAD /t
--- response_headers
Content-Length: 3
--- response_body



=== TEST 16: response_headers_like and raw_response_headers_like
--- config
location = /t { add_header X-Id "abc123"; return 200 "x"; }
--- get: /t
--- response_headers_like
X-Id: abc\d+
Content-Type: text/\w+
--- raw_response_headers_like: X-Id: abc\d+\r\n
--- response_body: x



=== TEST 17: grep_error_log
--- config
location = /t { return 200 "x"; }
--- get: /nope1
--- error_code: 404
--- grep_error_log eval
qr/nope\d" failed/
--- grep_error_log_out
nope1" failed



=== TEST 18: http_config, main_config, server_name, log_level
# (with HUP reloads, the old workers log their exit at the old level)
--- main_config
worker_rlimit_nofile 1024;
--- http_config
map $uri $mapped { default "mapped-$TEST_NGINX_SERVER_PORT"; }
--- config
location = /t { return 200 "$mapped $server_name\n"; }
--- server_name: selftest.local
--- log_level: warn
--- get: /t
--- response_body_like: ^mapped-\d+ selftest\.local$
--- no_error_log
[notice]
[debug]
--- skip_eval
4: $ENV{TEST_NGINX_USE_HUP}



=== TEST 19: error_log eval with qr// and strings
--- config
location = /t { return 200 "x"; }
--- get: /missing2
--- error_code: 404
--- error_log eval
[qr/open\(\) "[^"]+missing2" failed/, "No such file"]
--- no_error_log eval
[qr/\[(?:alert|crit|emerg)\]/]



=== TEST 20: chunked request body, proxy_pass to ourselves
--- config
location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/b; }
location = /b { return 200 "len=$http_content_length\n"; }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /t
5\r
hello\r
0\r
\r
"
--- response_body
len=5



=== TEST 21: skip_nginx (3 tests per repeat skipped)
--- config
location = /t { return 200 "x"; }
--- get: /t
--- response_body: y
--- skip_nginx
3: >= 0.1.0
