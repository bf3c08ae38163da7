# frozen_string_literal: true

# The part of the official algorithmia gem's interface this algorithm uses, on net/http: the gem
# itself comes from RubyGems, which localcluster's machines cannot reach. As the official client,
# a Client reads its api_key on every request, so the worker can keep a client made in load()
# on the current call's key.
require "json"
require "net/http"
require "uri"

module Algorithmia
  class Error < StandardError; end

  def self.client(api_key = ENV["ALGORITHMIA_API_KEY"], api_address = nil)
    Client.new(api_key, api_address)
  end

  class Client
    attr_reader :api_key, :api_address

    def initialize(api_key, api_address = nil)
      @api_key = api_key
      @api_address = api_address || ENV["ALGORITHMIA_API"]
    end

    def file(data_uri)
      DataFile.new(self, data_uri)
    end

    def algo(name)
      Algorithm.new(self, name)
    end

    def request(request)
      request["Authorization"] = "Simple #{api_key}"
      uri = request.uri
      response = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https") { |http| http.request(request) }
      return response if response.is_a?(Net::HTTPSuccess)

      raise Error, "#{request.method} #{uri.path}: #{response.code} #{response.body}"
    end

    def uri(path)
      URI.join(api_address, path)
    end
  end

  class DataFile
    def initialize(client, data_uri)
      @client = client
      @path = data_uri.sub(%r{\Adata://}, "")
    end

    def get
      @client.request(Net::HTTP::Get.new(@client.uri("/v1/data/#{@path}"))).body.force_encoding(Encoding::UTF_8)
    end
  end

  class Algorithm
    Response = Struct.new(:result, :metadata)

    def initialize(client, name)
      @client = client
      @name = name.sub(%r{\Aalgo://}, "")
    end

    def pipe(input)
      request = Net::HTTP::Post.new(@client.uri("/v1/algo/#{@name}"), "Content-Type" => "application/json")
      request.body = JSON.generate(input)
      answer = JSON.parse(@client.request(request).body)
      raise Error, answer["error"]["message"] if answer["error"]

      Response.new(answer["result"], answer["metadata"])
    end
  end
end
