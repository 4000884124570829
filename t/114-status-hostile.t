# staged_update_status under hostile requests and under load.
#
# Methods other than GET and HEAD, unknown or mangled formats, hostile
# query strings and headers: a 4xx with a JSON body, or the document;
# never a 5xx.  Then a bounded run of 5 s: 4 clients check on keep-alive
# connections as fast as they can while a fifth scrapes the status 100
# times a second (JSON and Prometheus in turn): every check is answered
# (200 or 204), every scrape is a 200 that parses, and the counters hold
# exactly the checks answered.
#
# Plain Test::More: nginx on 127.0.0.1, port TEST_NGINX_PORT + 124.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateStatus;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

StagedUpdateStatus::skip_unless_nginx();

my $t = StagedUpdateStatus->new(port_offset => 124);

$t->start;

# --- hostile requests -------------------------------------------------------

my @cases;

push @cases, map { [ "method $_", '/update/status', method => $_,
                     want => 405 ] } qw(POST PUT DELETE PATCH OPTIONS);

# (TRACE never reaches a module: nginx itself refuses it)

push @cases, map { [ "format=$_", "/update/status?format=$_", want => 400 ] }
             ('xml', '', 'JSON', '%6Ason', 'prometheus%0A', 'html%00',
              'x' x 3000, '%FF%FE', 'json;html');

push @cases,
    [ 'format twice: the first', '/update/status?format=json&format=xml',
      want => 200 ],
    [ 'a long query', '/update/status?' . ('a=b&' x 1000), want => 200 ],
    [ 'control bytes in the query', "/update/status?%00=%01&format",
      want => 200 ],
    [ 'a huge Accept', '/update/status',
      headers => { Accept => 'text/' . ('x' x 6000) }, want => 200 ],
    [ 'Accept of garbage', '/update/status',
      headers => { Accept => "\x01\x7f\xff;q=;;,,," }, want => 200 ],
    [ 'Accept: */*', '/update/status', headers => { Accept => '*/*' },
      want => 200 ],
    [ 'HEAD', '/update/status', method => 'HEAD', want => 200 ],
    [ 'a GET with a body', '/update/status', body => 'hello', want => 200 ];

for my $c (@cases) {
    my ($name, $path, %o) = @$c;
    my ($status, $h, $body) = $t->get($path, %o);

    ok($status < 500, "$name: $status, not a 5xx");

    if ($o{want} >= 400) {
        is($status, $o{want}, "$name: $o{want}");
        like($h->{'content-type'} // '', qr{^application/json},
             "$name: a JSON body");
        like($body, qr/^\{"error":"[^"]+"\}\n\z/, "$name: {\"error\":...}");

        is($h->{allow}, 'GET, HEAD', "$name: Allow: GET, HEAD")
            if $o{want} == 405;

    } else {
        is($status, $o{want}, "$name: $o{want}");
    }
}

# --- the format from Accept ----------------------------------------------------

for ([ 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;'
       . 'version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
       qr{^text/plain; version=0\.0\.4}, 'Prometheus\'s own Accept' ],
     [ 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
       qr{^text/html}, 'a browser\'s Accept' ],
     [ 'application/json', qr{^application/json}, 'Accept: application/json' ])
{
    my ($accept, $type, $name) = @$_;
    my ($status, $h) = $t->get('/update/status',
                               headers => { Accept => $accept });

    ok($status == 200 && ($h->{'content-type'} // '') =~ $type,
       "$name: $h->{'content-type'}");
}

# --- a load run with 100 scrapes a second ------------------------------------

my $SECONDS = 5;
my $dir = $t->root;
my @kids;

for my $k (0 .. 3) {
    my $pid = fork // die "fork: $!\n";

    if ($pid == 0) {
        my $sent = 0;
        my $ok = 0;
        my $end = time + $SECONDS;

        while (time < $end) {
            my @paths = map { "/update/check?version=1.$_.0&client=c$k-$sent-$_" }
                        0 .. 9;
            my $a = eval { $t->pipeline(\@paths, 10) } || [];
            $sent += @paths;
            $ok += grep { $_->[0] == 200 || $_->[0] == 204 } @$a;
        }

        StagedUpdateStatus::write_file("$dir/client-$k", "$sent $ok");
        POSIX::_exit(0);
    }

    push @kids, $pid;
}

my $scraper = fork // die "fork: $!\n";

if ($scraper == 0) {
    my ($n, $ok) = (0, 0);
    my $start = time;

    while (time < $start + $SECONDS) {
        my $f = $n % 2 ? 'prometheus' : 'json';
        my ($status, $h, $body) = eval { $t->get("/update/status?format=$f") };

        $n++;
        $ok++ if $status && $status == 200
                 && ($f eq 'json' ? eval { decode_json($body) }
                                  : $body =~ /^staged_update_checks_total\{/m);

        my $next = $start + $n / 100;
        sleep $next - time if $next > time;
    }

    StagedUpdateStatus::write_file("$dir/scraper", "$n $ok");
    POSIX::_exit(0);
}

waitpid $_, 0 for @kids, $scraper;

my ($sent, $answered) = (0, 0);

for my $k (0 .. 3) {
    my ($s, $o) = split ' ', StagedUpdateStatus::read_file("$dir/client-$k");
    $sent += $s;
    $answered += $o;
}

my ($scrapes, $scrapes_ok) = split ' ', StagedUpdateStatus::read_file("$dir/scraper");

note(sprintf '%d checks in %d s (%.0f/s), %d scrapes (%.0f/s)', $sent,
     $SECONDS, $sent / $SECONDS, $scrapes, $scrapes / $SECONDS);

ok($sent > 0, "the clients made $sent checks");
is($answered, $sent, 'every check was answered with a 200 or a 204');
ok($scrapes >= 100, "$scrapes scrapes were made");
is($scrapes_ok, $scrapes, 'every scrape was a 200 that parses');

my $j = $t->status_json;
my $c = $j->{tracks}[0]{checks};

is($c->{none} + $c->{upgrade} + $c->{mandatory}, $sent,
   'the counters hold exactly the checks answered');

$t->stop;

unlike($t->error_log, qr/\[(alert|crit|emerg)\]/, 'no alert in the log');

done_testing();
