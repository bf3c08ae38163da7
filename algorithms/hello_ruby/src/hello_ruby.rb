# hello_ruby: greets its input with the greeting its data file holds (copied beside it by the
# workflow's data_files), so a call shows that the build and the Data API work.
#
# The Data API is spoken with Ruby's own net/http, reading the address and the call's key from
# ALGORITHMIA_API and ALGORITHMIA_API_KEY as the official clients do, so it needs no gem.
require "net/http"
require "uri"

GREETING = "data://.my/<algo>/greeting.txt"

def apply(input)
  api = ENV.fetch("ALGORITHMIA_API", "https://api.algorithmia.com")
  uri = URI("#{api}/v1/data/#{GREETING.delete_prefix('data://')}")
  request = Net::HTTP::Get.new(uri)
  request["Authorization"] = "Simple #{ENV.fetch('ALGORITHMIA_API_KEY')}"
  response = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https") { |http| http.request(request) }
  raise "reading #{GREETING} failed: HTTP #{response.code} #{response.body}" unless response.is_a?(Net::HTTPSuccess)

  "#{response.body.force_encoding('UTF-8').strip}, #{input} (ruby)"
end
