# Copyright (C) The ngx_http_staged_update_module authors
#
# Delivery over HTTPS and HTTP/2, as the demo serves it: a self-signed
# certificate made here, curl checking it (--cacert, never -k), and the
# whole path of a launcher: the check (204, or 200 with a manifest whose
# URLs carry tokens), the download through staged_update_verify with the
# token, a resumed download (Range) with the same token, a 403 without a
# token, the redirect mode (an https:// Location that curl follows), gzip
# negotiated over h2.
#
# Plain Test::More, no Test::Nginx: the file starts its own nginx (master
# and one worker, daemon) on 127.0.0.1, port TEST_NGINX_PORT + 120
# (TEST_NGINX_PORT defaults to 1984).
#
#   TEST_NGINX_LOAD_MODULES=/path/ngx_http_staged_update_module.so \
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove -v t/102-https.t

use strict;
use warnings;

use Test::More;
use Digest::SHA qw(sha256_hex hmac_sha256);
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Basename qw(dirname);
use File::Spec;
use IO::Socket::INET;
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time sleep);

my $modules = $ENV{TEST_NGINX_LOAD_MODULES};

# unset: skip; empty (as in "make asan-test"): the module is built into
# the nginx binary

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set: it must name the '
                 . 'dynamic module ngx_http_staged_update_module.so (or be '
                 . 'empty for an nginx with the module built in)'
    unless defined $modules;

my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

plan skip_all => "nginx binary \"$nginx\" is not executable "
                 . '(set TEST_NGINX_BINARY)'
    unless -f $nginx && -x _;

for my $tool (qw(curl openssl)) {
    plan skip_all => "$tool is not installed"
        if system("command -v $tool >/dev/null 2>&1") != 0;
}

{
    my $v = `$nginx -V 2>&1`;

    plan skip_all => "$nginx has no http_ssl_module or http_v2_module"
        unless $v =~ /--with-http_ssl_module/ && $v =~ /--with-http_v2_module/;

    my $c = `curl --version 2>&1`;

    plan skip_all => 'curl has no HTTP/2 support' unless $c =~ /\bHTTP2\b/;
}

my @modules = map { File::Spec->rel2abs($_) } split ' ', $modules;

for (@modules) {
    die "TEST_NGINX_LOAD_MODULES: \"$_\" does not exist\n" unless -f $_;
}

my $PORT = ($ENV{TEST_NGINX_PORT} || 1984) + 120;
my $BASE = "https://127.0.0.1:$PORT";

my $prefix = tempdir('staged-update-https-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $rels = "$prefix/releases";
my $keys = "$prefix/keys";
my $pidfile = "$prefix/logs/nginx.pid";
my $started;

# stop nginx also on die, a failed test, ^C or a stuck run; this END block
# runs before File::Temp's, which removes the prefix

END {
    local $?;
    stop_nginx() if $started;
}

$SIG{INT} = $SIG{TERM} = sub { die "killed by signal\n" };
$SIG{ALRM} = sub { die "the test took more than 120 s, giving up\n" };
alarm 120;


# the release: a file large enough to resume, its archives

my %FILES = (
    'version.txt'               => "version=2.0.0\n",
    'bin/game'                  => "#!/bin/sh\necho \"game 2.0.0\"\n",
    'data/pack0.pak'            => join('', map { chr(($_ * 31 + 7) % 256) }
                                            0 .. 99_999),
    '.update/full.tar.gz'       => 'the full archive of 2.0.0 ' x 200,
    '.update/from-1.9.0.tar.gz' => 'the delta from 1.9.0 to 2.0.0 ' x 20,
);

for my $path (keys %FILES) {
    write_file("$rels/2.0.0/$path", $FILES{$path});
}

make_path($keys, "$prefix/logs", "$prefix/tmp", "$prefix/conf");

write_file("$keys/token.secret",
           join('', map { sprintf '%02x', int rand 256 } 1 .. 32) . "\n");

# a self-signed certificate for 127.0.0.1 and localhost

my $out = `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout $keys/cert.key -out $keys/cert.pem 2>&1`;

die "openssl req failed: $out" if $?;


# ---- nginx -----------------------------------------------------------------

die "127.0.0.1:$PORT is already in use, another test or a stale nginx "
    . "(TEST_NGINX_PORT moves the port)\n"
    if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $PORT,
                             Proto => 'tcp', Timeout => 2);

my $load = join '', map { "load_module $_;\n" } @modules;

# the workers read the release in our 0700 prefix: as root, they run as
# root too (not as nobody)

my $user = $> == 0 ? 'user root;' : '';

write_file("$prefix/conf/nginx.conf", <<"CONF");
$load
$user
master_process on;
worker_processes 1;
daemon on;
pid $pidfile;
error_log $prefix/logs/error.log info;

events {
    worker_connections 64;
}

http {
    access_log $prefix/logs/access.log;

    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path       $prefix/tmp/proxy;
    fastcgi_temp_path     $prefix/tmp/fastcgi;
    uwsgi_temp_path       $prefix/tmp/uwsgi;
    scgi_temp_path        $prefix/tmp/scgi;

    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $rels/2.0.0;
        default  100%;
        token    secret=$keys/token.secret  ttl=1h;
    }

    gzip        on;
    gzip_types  application/json;

    server {
        listen 127.0.0.1:$PORT ssl http2;

        ssl_certificate      $keys/cert.pem;
        ssl_certificate_key  $keys/cert.key;

        location = /update/check {
            staged_update game;
        }

        location = /update/download {
            staged_update game redirect;
        }

        location /releases/ {
            staged_update_verify game;
            alias $rels/;
        }

        location / {
            return 404;
        }
    }
}
CONF

{
    my $rc = system($nginx, '-p', "$prefix/", '-c', "$prefix/conf/nginx.conf",
                    '-e', "$prefix/logs/error.log");

    if ($rc != 0) {
        my $log = read_file("$prefix/logs/error.log");

        plan skip_all => "TEST_NGINX_LOAD_MODULES is empty and $nginx has "
                         . 'no staged_update directives'
            if !@modules && $log =~ /unknown directive "staged_update/;

        die "nginx did not start (exit status " . ($rc >> 8) . "):\n$log";
    }

    $started = 1;

    my $deadline = time + 10;

    until (-s $pidfile
           && IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $PORT,
                                    Proto => 'tcp', Timeout => 1))
    {
        die "nginx does not accept on 127.0.0.1:$PORT:\n"
            . read_file("$prefix/logs/error.log")
            if time > $deadline;
        sleep 0.05;
    }
}


# ---- the checks ----------------------------------------------------------

# the certificate is checked: without it, curl refuses the server

{
    my $r = curl('/update/check?version=2.0.0', cacert => 0);

    isnt($r->{exit}, 0, 'without --cacert curl refuses the self-signed '
                        . "certificate (exit $r->{exit})");
}

# no upgrade: 204 over HTTP/2

{
    my $r = curl('/update/check?version=2.0.0');

    is($r->{exit}, 0, '204: curl succeeds') or diag($r->{stderr});
    is($r->{status}, 204, '204: no upgrade for 2.0.0');
    is($r->{version}, '2', '204: HTTP/2 was used');
    is($r->{body}, '', '204: no body');
}

# an upgrade: the manifest, its URLs with our tokens

my $manifest;

{
    my $r = curl('/update/check?version=1.9.0');

    is($r->{status}, 200, 'manifest: 200 for 1.9.0');
    is($r->{version}, '2', 'manifest: HTTP/2 was used');
    is(header($r, 'content-type'), 'application/json',
       'manifest: Content-Type');

    $manifest = eval { JSON::PP->new->utf8->decode($r->{body}) };

    ok($manifest, 'manifest: JSON') or diag($@, $r->{body});
    $manifest ||= {};

    like($manifest->{url} // '',
         qr{^/releases/2\.0\.0/\.update/from-1\.9\.0\.tar\.gz\?token=},
         'manifest: the url is the delta from 1.9.0, with a token');
    is($manifest->{artifact}{type}, 'delta', 'manifest: a delta');
    is($manifest->{artifact}{sha256},
       sha256_hex($FILES{'.update/from-1.9.0.tar.gz'}),
       'manifest: the sha256 of the delta');

    my $now = time;

    for my $u ([ $manifest->{url}, '/releases/2.0.0/.update/from-1.9.0.tar.gz' ],
               map { [ $_->{url}, "/releases/2.0.0/$_->{path}" ] }
                   @{ $manifest->{files} || [] })
    {
        my ($url, $path) = @$u;
        my ($tok) = ($url // '') =~ /\?token=(.*)\z/;
        my ($exp) = ($tok // '') =~ /^2\.0\.0~(\d+)~/;

        ok(defined $exp && $exp % 60 == 0 && $exp > $now - 10 + 3600
           && $exp <= $now + 3660, "manifest: $path: the token expires at "
                                   . 'the minute after now + 1h');
        is($tok, token('2.0.0', $exp // 0, '', $path),
           "manifest: $path: the token is ours");
    }

    is(scalar @{ $manifest->{files} || [] }, 3, 'manifest: 3 files');
}

# downloads with the manifest's tokens: the bytes of the release

my %url = map { $_->{path} => $_->{url} } @{ $manifest->{files} || [] };

{
    my $r = curl($url{'data/pack0.pak'} // '/');

    is($r->{status}, 200, 'download: 200 with the token');
    is($r->{version}, '2', 'download: HTTP/2 was used');
    ok($r->{body} eq $FILES{'data/pack0.pak'},
       'download: the bytes of data/pack0.pak (' . length($r->{body})
       . ' bytes)');

    $r = curl($manifest->{url} // '/');

    is($r->{status}, 200, 'download: the delta, 200 with its token');
    ok($r->{body} eq $FILES{'.update/from-1.9.0.tar.gz'},
       'download: the bytes of the delta');
}

# a resumed download: the rest of the file from byte 60000, same token

{
    my $r = curl($url{'data/pack0.pak'} // '/', range => '60000-');

    is($r->{status}, 206, 'resume: 206 with the same token');
    is(header($r, 'content-range'), 'bytes 60000-99999/100000',
       'resume: Content-Range');
    ok($r->{body} eq substr($FILES{'data/pack0.pak'}, 60000),
       'resume: the last 40000 bytes');
    is($r->{version}, '2', 'resume: HTTP/2 was used');
}

# no token, a token of another file

{
    (my $bare = $url{'data/pack0.pak'} // '/') =~ s/\?.*//s;

    my $r = curl($bare);

    is($r->{status}, 403, 'no token: 403');
    is($r->{body}, qq{{"error":"download token is missing"}\n},
       'no token: the JSON error');

    (my $tok = $url{'version.txt'} // '') =~ s/^[^?]*//;
    $r = curl($bare . $tok);

    is($r->{status}, 403, 'the token of version.txt on data/pack0.pak: 403');
    is($r->{body}, qq{{"error":"download token does not open this file"}\n},
       'the token of another file: the JSON error');
}

# the redirect mode: an https:// Location with a token, which curl follows

{
    my $r = curl('/update/download?version=1.9.0');

    is($r->{status}, 302, 'redirect: 302');
    like(header($r, 'location'),
         qr{^\Q$BASE\E/releases/2\.0\.0/\.update/from-1\.9\.0\.tar\.gz\?token=2\.0\.0~\d+~[A-Za-z0-9_-]{43}\z},
         'redirect: Location is https://, the delta, with a token');

    my ($exp) = header($r, 'location') =~ /token=2\.0\.0~(\d+)~/;

    is(header($r, 'location'),
       "$BASE/releases/2.0.0/.update/from-1.9.0.tar.gz?token="
       . token('2.0.0', $exp // 0, '',
               '/releases/2.0.0/.update/from-1.9.0.tar.gz'),
       'redirect: the token is ours');

    $r = curl('/update/download?version=1.9.0', follow => 1);

    is($r->{status}, 200, 'redirect: followed, 200');
    ok($r->{body} eq $FILES{'.update/from-1.9.0.tar.gz'},
       'redirect: followed, the bytes of the delta');

    $r = curl('/update/download?version=1.0.0');

    like(header($r, 'location'),
         qr{^\Q$BASE\E/releases/2\.0\.0/\.update/full\.tar\.gz\?token=},
         'redirect: a client without a delta goes to the full archive');
}

# gzip over h2

{
    my $plain = curl('/update/check?version=1.9.0');
    my $r = curl('/update/check?version=1.9.0', gzip => 1);

    is($r->{version}, '2', 'gzip: HTTP/2 was used');
    is($r->{status}, 200, 'gzip: 200');
    is(header($r, 'content-encoding'), 'gzip', 'gzip: Content-Encoding');

    my $body;

    ok(gunzip(\$r->{body} => \$body), 'gzip: the body gunzips')
        or diag($GunzipError);

    my $j = eval { JSON::PP->new->utf8->decode($body // '') };
    my $k = eval { JSON::PP->new->utf8->decode($plain->{body}) };

    ok($j && $k, 'gzip: both answers are JSON');

    # the tokens may be of different minutes
    s/\?token=[^"]*//g for grep { defined } $body, $plain->{body};
    is($body, $plain->{body}, 'gzip: the same manifest as without gzip');

    $r = curl('/update/check?version=2.0.0', gzip => 1);

    is($r->{status}, 204, 'gzip: 204');
    is(header($r, 'content-encoding'), undef, 'gzip: a 204 is not encoded');
}

stop_nginx();

{
    my @bad = grep { /\[(?:alert|crit|emerg)\]/ }
              split /\n/, read_file("$prefix/logs/error.log");

    is(scalar @bad, 0, 'no alert, crit or emerg in the error log')
        or diag(join "\n", @bad);
}

done_testing();


# ---- helpers ---------------------------------------------------------------

# curl over HTTPS and HTTP/2, the certificate checked against ours:
# { exit, status, version, headers => { lc name => value }, body, stderr }

sub curl {
    my ($uri, %o) = @_;

    my $dir = tempdir(DIR => $prefix, CLEANUP => 1);
    my @cmd = ('curl', '-sS', '--http2', '--max-time', '20',
               '-o', "$dir/body", '-D', "$dir/headers",
               '-w', '%{http_code} %{http_version}');

    push @cmd, '--cacert', "$keys/cert.pem" unless defined $o{cacert};
    push @cmd, '-r', $o{range} if $o{range};
    push @cmd, '-H', 'Accept-Encoding: gzip' if $o{gzip};
    push @cmd, '-L' if $o{follow};
    push @cmd, $uri =~ m{^https://} ? $uri : "$BASE$uri";

    my $pid = open my $fh, '-|';
    die "fork: $!" unless defined $pid;

    if (!$pid) {
        open STDERR, '>', "$dir/stderr";
        exec @cmd or exit 127;
    }

    my $w = do { local $/; <$fh> } // '';
    close $fh;

    my %r = (exit => $? >> 8, stderr => read_file("$dir/stderr"),
             body => read_file("$dir/body"));

    @r{qw(status version)} = split ' ', $w;

    # the headers of the last response (after a redirect that curl followed)
    my @blocks = split /\r?\n\r?\n/, read_file("$dir/headers");
    my %h;

    for (split /\r?\n/, $blocks[-1] // '') {
        $h{ lc $1 } = $2 if /^([^:\s]+):\s*(.*?)\s*\z/;
    }

    $r{headers} = \%h;

    return \%r;
}

sub header {
    my ($r, $name) = @_;
    return $r->{headers}{$name};
}

sub token {
    my ($version, $expires, $client, $path) = @_;

    (my $secret = read_file("$keys/token.secret")) =~ s/[\r\n]+\z//;
    (my $mac = encode_base64(hmac_sha256("$version\n$expires\n$client\n$path",
                                         $secret), ''))
        =~ tr{+/}{-_};
    $mac =~ s/=+\z//;

    return join '~', $version, $expires, (length $client ? $client : ()), $mac;
}

sub stop_nginx {
    return unless $started;

    $started = 0;

    my ($pid) = read_file($pidfile) =~ /(\d+)/;

    return unless $pid && kill 'TERM', $pid;

    my $deadline = time + 10;
    sleep 0.05 while kill(0, $pid) && time < $deadline && !zombie($pid);

    if (kill 0, $pid and !zombie($pid)) {
        warn "nginx master $pid did not stop, killing it\n";
        kill 'KILL', $pid;
    }
}

sub zombie {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    return (<$fh> // '') =~ /^\d+ \(.*\) Z/;
}

sub write_file {
    my ($file, $data) = @_;

    make_path(dirname($file));
    open my $fh, '>:raw', $file or die "$file: $!\n";
    print $fh $data;
    close $fh or die "$file: $!\n";
}

sub read_file {
    my ($file) = @_;

    open my $fh, '<:raw', $file or return '';
    local $/;
    return scalar(<$fh>) // '';
}
